"""Bad input through the real CLI: one line per problem (path, value given, what was expected),
exit code 2, no traceback, nothing written; and `--set` paths that work."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.scenario_file import (
    NOT_YET,
    NOT_YET_KEYS,
    NOT_YET_POLICIES,
    NOT_YET_SETTINGS,
    load_scenario,
)

ROOT = Path(__file__).resolve().parents[1]
TICKET_TRIAGE = ROOT / "scenarios" / "ticket-triage.toml"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
TABLES = ("scenario", "traffic", "segments", "student", "teacher", "router", "economics")


def edited(tmp_path: Path, *changes: tuple[str, str], append: str = "") -> Path:
    """ticket-triage.toml with `key = ...` lines replaced ((key, new value), first match each)."""
    text = TICKET_TRIAGE.read_text()
    for key, value in changes:
        text, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text, count=1)
        assert n == 1, f"no line for {key} in {TICKET_TRIAGE}"
    path = tmp_path / "scenario.toml"
    path.write_text(text + append)
    return path


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def problems(result) -> list[str]:
    """The problem lines of a bad-input exit, after checking the contract around them."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(line.strip() for line in lines)
    return lines


def validate_set(*overrides: str) -> list[str]:
    args = ["validate", TICKET_TRIAGE]
    for item in overrides:
        args += ["--set", item]
    return problems(cli(*args))


def test_malformed_toml_reports_line_and_column(tmp_path):
    path = edited(tmp_path, ("horizon_days", "90 days"))
    line = path.read_text().splitlines().index("horizon_days = 90 days") + 1
    (message,) = problems(cli("validate", path))
    assert message.startswith(f"{path}: malformed TOML at line {line}, column 19: ")


def test_toml_error_at_the_end_still_has_a_line_and_column(tmp_path):
    path = tmp_path / "scenario.toml"
    path.write_text(TICKET_TRIAGE.read_text() + 'note = "unterminated')
    lines = path.read_text().split("\n")
    (message,) = problems(cli("validate", path))
    assert f"at line {len(lines)}, column {len(lines[-1]) + 1}" in message


def test_unknown_key_suggests_the_known_one(tmp_path):
    text = TICKET_TRIAGE.read_text().replace("threshold = 0.75", "treshold = 0.75")
    (tmp_path / "typo.toml").write_text(text)
    (message,) = problems(cli("validate", tmp_path / "typo.toml"))
    assert message.startswith("router.treshold: unknown key (did you mean 'threshold'?)")
    assert "expected one of policy, threshold," in message


def test_unknown_table_suggests_the_known_one(tmp_path):
    text = TICKET_TRIAGE.read_text().replace("[router]", "[routr]")
    (tmp_path / "typo.toml").write_text(text)
    lines = problems(cli("validate", tmp_path / "typo.toml"))
    assert lines[1].startswith("routr: unknown key (did you mean 'router'?); expected one of")
    assert "router: missing; expected a [router] table" in lines


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        ("servers", '"four"', 'student.servers: got "four"; expected an integer'),
        ("servers", "2.5", "student.servers: got 2.5; expected an integer"),
        ("servers", "true", "student.servers: got true; expected an integer"),
        ("horizon_days", '"90"', 'scenario.horizon_days: got "90"; expected a number'),
        ("threshold", '"high"', 'router.threshold: got "high"; expected a number'),
        ("weekly", "7", "traffic.weekly: got 7; expected a list [...]"),
        ("tokens_in", '"big"', 'segments[0].tokens_in: got "big"; expected a number or a dist'),
        ("policy", '"cascad"', "router.policy: got \"cascad\" (did you mean 'cascade'?); expected"),
    ],
)
def test_wrong_type(tmp_path, key, value, line):
    (message,) = problems(cli("validate", edited(tmp_path, (key, value))))
    assert message.startswith(line)


def test_a_boolean_is_not_taken_for_a_number_nor_a_number_for_a_boolean(tmp_path):
    path = edited(tmp_path, ("student_accuracy", "true"), ("teacher_accuracy", "0.975"))
    path.write_text(path.read_text().replace("[[segments]]", "[[segments]]\nin_training = 1", 1))
    assert problems(cli("validate", path)) == [
        "segments[0].student_accuracy: got true; expected a number",
        "segments[0].in_training: got 1; expected true or false",
    ]


def test_an_integer_field_takes_a_whole_float():
    """Grids pass 2.0 for 2 (np.linspace); only a fractional part is an error."""
    assert load_scenario(TICKET_TRIAGE, ["student.servers=2.0"]).student.servers == 2


def test_probability_outside_0_1_names_the_field_and_the_value(tmp_path):
    (message,) = problems(cli("validate", edited(tmp_path, ("student_accuracy", "1.5"))))
    assert message == "segments[0].student_accuracy: got 1.5; expected a number in [0, 1]"


@pytest.mark.parametrize(
    ("item", "line"),
    [
        ("traffic.calls_per_day=0", "traffic.calls_per_day: got 0; expected a number > 0"),
        ("traffic.calls_per_day=-100", "traffic.calls_per_day: got -100; expected a number > 0"),
        ("student.servers=0", "student.servers: got 0; expected an integer in [1, 100000]"),
        ("scenario.horizon_days=0", "scenario.horizon_days: got 0; expected a number > 0"),
        ("scenario.horizon_days=-1", "scenario.horizon_days: got -1; expected a number > 0"),
        ("router.threshold=1.5", "router.threshold: got 1.5; expected a number in [0, 1]"),
        ("router.threshold=-0.1", "router.threshold: got -0.1; expected a number in [0, 1]"),
        ("traffic.calls_per_day=nan", "traffic.calls_per_day: got nan; expected a finite number"),
        ("traffic.diurnal_amplitude=1", "traffic.diurnal_amplitude: got 1; expected a number in"),
        ("traffic.weekly=[1, 1]", "traffic.weekly: got [1, 1]; expected at least 7 items"),
        (
            "segments[1].teacher_accuracy=2",
            "segments[1].teacher_accuracy: got 2; expected a number in [0, 1]",
        ),
        (
            "teacher.latency_s.median=-1",
            "teacher.latency_s.median: got -1; expected a number > 0",
        ),
    ],
)
def test_value_out_of_range(item, line):
    (message,) = validate_set(item)
    assert message.startswith(line)


def test_all_segment_weights_zero(tmp_path):
    text = re.sub(r"(?m)^weight = .*$", "weight = 0", TICKET_TRIAGE.read_text())
    (tmp_path / "zero.toml").write_text(text)
    (message,) = problems(cli("validate", tmp_path / "zero.toml"))
    assert message.startswith("segments.*.weight: all weights are zero; expected")


def test_missing_field_and_distribution_parameter(tmp_path):
    text = re.sub(r"(?m)^gpu_hour_usd = .*\n", "", TICKET_TRIAGE.read_text())
    text = text.replace("median = 0.15, sigma = 0.35", "median = 0.15")
    (tmp_path / "missing.toml").write_text(text)
    assert problems(cli("validate", tmp_path / "missing.toml")) == [
        "student.service_s.sigma: missing; a lognormal distribution needs median and sigma",
        "student.gpu_hour_usd: missing; this field is required",
    ]


def test_unknown_distribution_kind_suggests_the_known_one():
    (message,) = validate_set('student.service_s.dist="lognromal"')
    assert message.startswith(
        "student.service_s.dist: got \"lognromal\" (did you mean 'lognormal'?); expected one of"
    )


def test_missing_file(tmp_path):
    (message,) = problems(cli("validate", tmp_path / "nope.toml"))
    assert message == f"{tmp_path / 'nope.toml'}: no such file; expected a scenario .toml file"


@pytest.mark.parametrize(
    ("item", "fragments"),
    [
        ("router.treshold=0.5", ["--set router.treshold: unknown field", "'threshold'?"]),
        ("rooter.threshold=0.5", ["--set rooter.threshold: unknown field", "'router'?"]),
        (
            "segments.cor.weight=0.5",
            ["--set segments.cor.weight: no entry named 'cor'", "'core'?", "core, rare"],
        ),
        ("segments[7].weight=0.5", ["--set segments[7].weight: got index 7", "from 0 to 2"]),
        ("router.threshold", ["--set router.threshold: no '='", "path=value"]),
        ("router..threshold=1", ["--set router..threshold: malformed path"]),
        ("router.threshold.value=1", ["router.threshold holds the value 0.75, not a table"]),
    ],
)
def test_bad_set_path(item, fragments):
    (message,) = validate_set(item)
    for fragment in fragments:
        assert fragment in message


def test_several_bad_set_paths_give_several_lines():
    lines = validate_set("router.treshold=0.5", "segments.cor.weight=1", "segments[9].weight=1")
    assert [line.split(":")[0] for line in lines] == [
        "--set router.treshold",
        "--set segments.cor.weight",
        "--set segments[9].weight",
    ]


@pytest.mark.parametrize("table", sorted(NOT_YET))
def test_tables_not_supported_yet(tmp_path, table):
    path = edited(tmp_path, append=f"\n[{table}]\nsome_key = 1\n")
    lines = problems(cli("validate", path))
    assert f"{table}: not supported yet (a later release adds {NOT_YET[table]}); " in lines[0]


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        (
            'kind = "mix"\nstart_day = 30\nramp_days = 14\nweights = { core = 0.5, nope = 0.5 }',
            "drift[0].weights.nope: unknown segment",
        ),
        (
            'kind = "concept"\nsegment = "kore"\nstart_day = 5\nstale_student_accuracy = 0.8',
            "drift[0].segment: got 'kore'",
        ),
        (
            'kind = "mix"\nstart_day = 80\nramp_days = 30\nweights = { core = 0.5 }',
            "drift[0].ramp_days: got 30",
        ),
        (
            'kind = "mix"\nstart_day = 10\n'
            "weights = { core = 0, rare_categories = 0, garbled = 0 }",
            "drift[0].weights: got",
        ),
        (
            'kind = "mix"\nstart_day = 10\nramp_days = -3\nweights = { core = 0.5 }',
            "drift[0].ramp_days: got -3",
        ),
        (
            'kind = "sideways"\nstart_day = 10',
            "drift[0].kind",
        ),
    ],
)
def test_bad_drift_events(tmp_path, drift, expected):
    result = cli("validate", edited(tmp_path, append=f"\n[[drift]]\n{drift}\n"))
    assert result.exit_code == 2
    assert any(line.startswith(expected) for line in problems(result)), problems(result)


@pytest.mark.parametrize(("table", "key"), sorted(NOT_YET_KEYS))
def test_keys_not_supported_yet(tmp_path, table, key):
    path = tmp_path / "scenario.toml"
    path.write_text(TICKET_TRIAGE.read_text().replace(f"[{table}]", f"[{table}]\n{key} = 1", 1))
    (message,) = problems(cli("validate", path))
    assert message.startswith(f"{table}.{key}: not supported yet")


@pytest.mark.parametrize("policy", sorted(NOT_YET_POLICIES))
def test_policies_not_supported_yet_give_one_line(policy):
    """Only the refusal: what the policy would need (a [verifier] table, ...) only misleads."""
    (message,) = validate_set(f"router.policy={policy}")
    assert message.startswith(f'router.policy: got "{policy}"; not supported yet')


@pytest.mark.parametrize("field", sorted(NOT_YET_SETTINGS))
def test_settings_not_supported_yet(field):
    value = "[{ start_day = 1, hours = 2 }]" if NOT_YET_SETTINGS[field] == [] else "5"
    (message,) = validate_set(f"{field}={value}")
    assert message.startswith(f"{field}: got ")
    assert "not supported yet" in message


def test_empirical_distributions_not_supported_yet():
    empirical = '{ dist = "empirical", path = "tokens.csv", column = "tokens_in" }'
    (message,) = validate_set(f"segments[2].tokens_in={empirical}")
    assert message.startswith('segments[2].tokens_in: got dist = "empirical"; not supported yet')


def test_several_problems_give_one_line_each(tmp_path):
    path = edited(
        tmp_path, ("student_accuracy", "1.5"), ("servers", '"four"'), ("concurrency", "0")
    )
    path.write_text(path.read_text().replace("threshold = 0.75", "treshold = 0.75"))
    lines = problems(cli("validate", path, "--set", "traffic.calls_per_day=0"))
    assert sorted(line.split(":")[0] for line in lines) == [
        "router.treshold",
        "segments[0].student_accuracy",
        "student.concurrency",
        "student.servers",
        "traffic.calls_per_day",
    ]


def test_bad_run_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = edited(tmp_path, ("student_accuracy", "1.5"))
    lines = problems(cli("run", bad, "--json"))
    assert lines == ["segments[0].student_accuracy: got 1.5; expected a number in [0, 1]"]
    problems(cli("run", bad, "--out", tmp_path / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    bad = edited(tmp_path, ("servers", "0"), ("threshold", "1.5"))
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(bad), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "student.servers: got 0; expected an integer in [1, 100000]",
        "router.threshold: got 1.5; expected a number in [0, 1]",
    ]
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_bundled_scenario_validates(path):
    result = cli("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: ok")


def test_schema_is_json_schema_with_every_table():
    result = cli("schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(TABLES) <= set(schema["properties"])
    assert set(TABLES) - {"economics"} <= set(schema["required"])


@pytest.mark.parametrize(
    ("item", "read", "expected"),
    [
        ("router.threshold=0.9", lambda s: s.router.threshold, 0.9),
        ("segments.core.student_accuracy=0.9", lambda s: s.segments[0].student_accuracy, 0.9),
        ("segments[1].weight=0.2", lambda s: s.segments[1].weight, 0.2),
        ("student.service_s.median=0.2", lambda s: s.student.service_s.median, 0.2),
        ("student.service_s.median=0.2", lambda s: s.student.service_s.sigma, 0.35),
        ("router.policy=student_only", lambda s: s.router.policy, "student_only"),
        ('router.policy="teacher_only"', lambda s: s.router.policy, "teacher_only"),
        ("segments.garbled.tokens_out.value=50", lambda s: s.segments[2].tokens_out.value, 50),
        ("segments[0].in_training=false", lambda s: s.segments[0].in_training, False),
        ("traffic.weekly=[1, 1, 1, 1, 1, 0, 0]", lambda s: s.traffic.weekly[5], 0.0),
        (
            "router.segment_thresholds={ garbled = 0.95 }",
            lambda s: s.threshold_for("garbled"),
            0.95,
        ),
        ("scenario.name=triage-v2", lambda s: s.scenario.name, "triage-v2"),
    ],
)
def test_set_shows_up_in_the_validated_scenario(item, read, expected):
    assert read(load_scenario(TICKET_TRIAGE, [item])) == expected


def test_later_sets_win_and_the_file_is_untouched():
    before = TICKET_TRIAGE.read_text()
    s = load_scenario(TICKET_TRIAGE, ["router.threshold=0.9", "router.threshold=0.6"])
    assert s.router.threshold == 0.6
    assert load_scenario(TICKET_TRIAGE).router.threshold == 0.75
    assert TICKET_TRIAGE.read_text() == before


def test_set_through_the_cli():
    result = cli("validate", TICKET_TRIAGE, "--set", "router.policy=student_only")
    assert result.exit_code == 0, result.output
    assert "student_only over 90 days" in result.stdout
