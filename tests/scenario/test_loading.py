"""Bad input through the real CLI: one line per problem (path, value given, what was expected),
exit code 2, no traceback, nothing written; and `--set` paths that work."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim import runner
from sim.cli import app
from sim.scenario.loading import load_scenario
from sim.scenario.models import POLICIES

ROOT = Path(__file__).resolve().parents[2]
TICKET_TRIAGE = ROOT / "scenarios" / "ticket-triage.toml"
CODE_FIX = ROOT / "scenarios" / "code-fix-verify.toml"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
TABLES = ("scenario", "traffic", "segments", "student", "teacher", "router", "economics")


def edited(
    tmp_path: Path, *changes: tuple[str, str], append: str = "", source: Path = TICKET_TRIAGE
) -> Path:
    """A scenario (ticket-triage.toml unless `source`) with `key = ...` lines replaced ((key, new
    value), first match each); a key given as "[table] key" is added as the table's first line."""
    text = source.read_text()
    for key, value in changes:
        if key.startswith("["):
            table, name = key.split(" ")
            text, n = re.subn(
                rf"(?m)^{re.escape(table)}.*$", rf"\g<0>\n{name} = {value}", text, count=1
            )
        else:
            text, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text, count=1)
        assert n == 1, f"no line for {key} in {source}"
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
        (
            "scenario.horizon_days=0",
            "scenario.horizon_days: got 0; expected a number in (0, 36500]",
        ),
        (
            "scenario.horizon_days=-1",
            "scenario.horizon_days: got -1; expected a number in (0, 36500]",
        ),
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
            "teacher.latency_s.median: got -1; expected a number in (0, 1000000000]",
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


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        (
            'kind = "mix"\nstart_day = 30\nramp_days = 14\nweights = { core = 0.5, nope = 0.5 }',
            "drift[0].weights.nope: unknown segment",
        ),
        (
            'kind = "concept"\nsegment = "kore"\nstart_day = 5\nstale_student_accuracy = 0.8',
            "drift[0].segment: got \"kore\" (did you mean 'core'?); expected one of core, ",
        ),
        (
            'kind = "mix"\nstart_day = 50\nramp_days = 30\nweights = { core = 0.5 }',
            "drift[0].ramp_days: got 30; the ramp from day 50 ends past the horizon (day 60); "
            "expected at most 10",
        ),
        (  # after the horizon: the start is wrong, not the ramp ("expected at most 0")
            'kind = "mix"\nstart_day = 80\nramp_days = 30\nweights = { core = 0.5 }',
            "drift[0].start_day: got 80; the drift starts at or after the horizon's end (day 60); "
            "expected a start_day below horizon_days",
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


# --- bad input the routing policies bring: one line with the path, the value and the fix ---------


def test_unknown_policy_in_the_file(tmp_path):
    assert problems(cli("validate", edited(tmp_path, ("policy", '"cascde"')))) == [
        "router.policy: got \"cascde\" (did you mean 'cascade'?); expected one of teacher_only, "
        "student_only, cascade, verify, ensemble"
    ]


def test_unknown_policy_to_compare(tmp_path):
    result = cli("compare", TICKET_TRIAGE, "--policy", "cascade", "--policy", "cascde",
                 "--out", tmp_path / "out")  # fmt: skip
    assert problems(result) == [
        "--policy: got \"cascde\" (did you mean 'cascade'?); expected one of teacher_only, "
        "student_only, cascade, verify, ensemble"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("source", "changes", "append", "expected"),
    [
        (
            TICKET_TRIAGE,
            [("policy", '"verify"')],
            "",
            'router.policy: got "verify" without a [verifier] table; expected a [verifier] '
            "table (recall, false_positive_rate, ...) or another policy",
        ),
        (
            CODE_FIX,
            [("recall", "1.2")],
            "",
            "verifier.recall: got 1.2; expected a number in [0, 1]",
        ),
        (
            CODE_FIX,
            [("false_positive_rate", "-0.1")],
            "",
            "verifier.false_positive_rate: got -0.1; expected a number in [0, 1]",
        ),
        (
            TICKET_TRIAGE,
            [
                (
                    "[teacher] outages",
                    "[{ start_day = 1, hours = 5 }, { start_day = 1.1, hours = 2 }]",
                )
            ],
            "",
            "teacher.outages[1].start_day: got 1.1, inside outages[0] (day 1 for 5 h, until day "
            "1.20833); expected outages that do not overlap",
        ),
        (
            TICKET_TRIAGE,
            [("service_s", "0.5"), ("[router] deadline_s", "0.2")],
            "",
            "router.deadline_s: got 0.2; no answer can arrive that fast (the fastest takes 0.5 s); "
            "expected a deadline above 0.5 s (or 0 for none)",
        ),
        (
            CODE_FIX,
            [("on_flag", '"human"')],
            "",
            'verifier.on_flag: got "human" without a [human] table; expected a [human] table '
            '(usd_per_review, review_s, ...) or on_flag = "teacher"',
        ),
        (
            TICKET_TRIAGE,
            [],
            '\n[monitoring]\n[retraining]\ntrigger = "alert"\n',
            None,  # valid: alerts come from [monitoring]
        ),
        (
            TICKET_TRIAGE,
            [],
            '\n[retraining]\ntrigger = "alert"\n',
            'retraining.trigger: got "alert" without a [monitoring] table; expected a '
            '[monitoring] table (alerts come from it) or trigger = "never" or "schedule"',
        ),
        (
            TICKET_TRIAGE,
            [("confidence_wrong", '{ dist = "lognormal", median = 0.5, sigma = 0.3 }')],
            "",
            'segments[0].confidence_wrong: got dist = "lognormal", which can exceed 1; expected a '
            "confidence on [0, 1]: beta, logit_normal, empirical or a constant in [0, 1]",
        ),
        (
            TICKET_TRIAGE,
            [("confidence_wrong", "1.5")],
            "",
            "segments[0].confidence_wrong: got 1.5; expected a confidence on [0, 1]: a constant in "
            "[0, 1], beta, logit_normal or empirical",
        ),
        (
            TICKET_TRIAGE,
            [("weekly", "[0, 0, 0, 0, 0, 0, 0]")],
            "",
            "traffic.weekly: got [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]; expected at least one "
            "positive factor",
        ),
        (
            TICKET_TRIAGE,
            [("[router] segment_thresholds", "{ garbeld = 0.9 }")],
            "",
            "router.segment_thresholds.garbeld: unknown segment (did you mean 'garbled'?); "
            "expected one of core, rare_categories, garbled",
        ),
    ],
    ids=[
        "verify-without-verifier",
        "verifier-recall",
        "verifier-false-positives",
        "overlapping-outages",
        "deadline-too-short",
        "human-without-table",
        "alert-with-monitoring",
        "alert-without-monitoring",
        "unbounded-confidence",
        "constant-confidence",
        "no-traffic-any-day",
        "unknown-threshold-segment",
    ],
)
def test_one_line_per_routing_problem(tmp_path, source, changes, append, expected):
    result = cli("validate", edited(tmp_path, *changes, append=append, source=source))
    if expected is None:
        assert result.exit_code == 0, result.output
    else:
        assert problems(result) == [expected]


def test_outages_inside_a_long_one_are_each_named(tmp_path):
    """Not only neighbours: two short outages inside a two-day one both overlap it."""
    outages = (
        "[{ start_day = 1, hours = 48 }, { start_day = 1.5, hours = 1 }, "
        "{ start_day = 2, hours = 1 }]"
    )
    path = edited(tmp_path, ("[teacher] outages", outages))
    lines = problems(cli("validate", path))
    assert [line.split(":")[0] for line in lines] == [
        "teacher.outages[1].start_day",
        "teacher.outages[2].start_day",
    ]
    assert all("inside outages[0] (day 1 for 48 h, until day 3)" in line for line in lines)
    apart = "[{ start_day = 1, hours = 24 }, { start_day = 2, hours = 1 }]"  # touching is fine
    assert cli("validate", edited(tmp_path, ("[teacher] outages", apart))).exit_code == 0


def test_repeated_names_point_at_both_entries(tmp_path):
    path = edited(tmp_path, append='\n[[secondary]]\nname = "a"\nstudent_quality = 0.5\n'
                  'teacher_quality = 0.9\n[[secondary]]\nname = "a"\nstudent_quality = 0.5\n'
                  "teacher_quality = 0.9\n")  # fmt: skip
    path.write_text(path.read_text().replace('name = "garbled"', 'name = "core"'))
    assert problems(cli("validate", path)) == [
        'segments[2].name: got "core", the name of segments[0] too; expected unique names',
        'secondary[1].name: got "a", the name of secondary[0] too; expected unique names',
    ]


def compare_problems(tmp_path, monkeypatch, *args: str) -> list[str]:
    """A bad `compare`: its problem lines, checked to come before any simulation or file."""

    def never(*args, **kwargs):
        raise AssertionError("a simulation ran before the input was checked")

    monkeypatch.setattr(runner, "run", never)
    out = tmp_path / "out"
    result = cli("compare", TICKET_TRIAGE, "--policy", "cascade", "--policy", "teacher_only",
                 *args, "--out", out)  # fmt: skip
    lines = problems(result)
    assert not out.exists()
    return lines


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        (
            "router.threshold=0.5:0.9",
            '--grid router.threshold: got "0.5:0.9"; expected lo:hi:n (three parts) or a,b,c',
        ),
        (
            "router.threshold",
            '--grid: got "router.threshold"; expected path=lo:hi:n or path=a,b,c',
        ),
        (
            "router.threshold=0.5:0.9:0",
            "--grid router.threshold: got n = 0; expected an integer from 1 to 10000",
        ),
        (
            "router.threshold=low:0.9:3",
            '--grid router.threshold: got "low:0.9:3"; expected finite numbers lo and hi in '
            "lo:hi:n",
        ),
        ("router.threshold=", "--grid router.threshold: got no values; expected lo:hi:n or a,b,c"),
    ],
)
def test_malformed_grid(tmp_path, monkeypatch, grid, expected):
    assert compare_problems(tmp_path, monkeypatch, "--grid", grid) == [expected]


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        (
            "router.treshold=0.5:0.9:3",
            "--grid router.treshold: unknown field 'treshold' (did you mean 'threshold'?); "
            "expected one of policy, threshold, segment_thresholds, deadline_s, on_deadline, "
            "bypass_queue_s",
        ),
        (
            "segments.cor.student_accuracy=0.9,0.95",
            "--grid segments.cor.student_accuracy: no entry named 'cor' (did you mean 'core'?); "
            "expected one of core, rare_categories, garbled",
        ),
        (
            "rooter.threshold=0.5,0.9",
            "--grid rooter.threshold: unknown field 'rooter' (did you mean 'router'?); expected "
            "one of scenario, traffic, segments, student, teacher, router, economics, verifier, "
            "human, drift, secondary, monitoring, retraining, signals",
        ),
    ],
)
def test_grid_on_an_unknown_field_is_one_line_before_any_run(tmp_path, monkeypatch, grid, expected):
    assert compare_problems(tmp_path, monkeypatch, "--grid", grid) == [expected]


def test_grid_values_out_of_range_are_named_once(tmp_path, monkeypatch):
    lines = compare_problems(tmp_path, monkeypatch, "--grid", "router.threshold=0.5,1.5")
    assert lines == ["router.threshold: got 1.5; expected a number in [0, 1]"]


def test_an_unknown_table_is_named_not_ignored(tmp_path):
    path = edited(tmp_path, append="\n[canary]\nshare = 0.1\n")
    (message,) = problems(cli("validate", path))
    assert message.startswith("canary: unknown key") and "expected one of scenario, " in message
    (message,) = validate_set("canary.share=0.1")
    assert message.startswith("--set canary.share: unknown field 'canary'")


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_validates(policy):
    result = cli("validate", CODE_FIX, "--set", f"router.policy={policy}")
    assert result.exit_code == 0, result.output
    assert f": {policy} over 90 days" in result.stdout


def test_every_table_of_the_design_validates(tmp_path):
    tables = """
[verifier]
recall = 0.8
false_positive_rate = 0.05
latency_s = 0.01
on_flag = "human"

[human]
usd_per_review = 2.0
reviewers = 3
review_s = { dist = "exponential", mean = 600 }

[[drift]]
kind = "mix"
start_day = 30
ramp_days = 14
weights = { core = 0.7, garbled = 0.1 }

[[drift]]
kind = "concept"
segment = "core"
start_day = 35
ramp_days = 20
stale_student_accuracy = 0.8

[[drift]]
kind = "random_walk"
volatility_per_month = 0.2

[[secondary]]
name = "audit_summary"
student_quality = 0.75
teacher_quality = 0.97

[monitoring]
window_hours = 24
fallback_rate_alert = 0.3
audit_rate = 0.01

[retraining]
trigger = "alert"
dataset_calls = 20000
"""
    path = edited(tmp_path, ("policy", '"verify"'), append=tables)
    result = cli("validate", path)
    assert result.exit_code == 0, result.output
    s = load_scenario(path)
    assert [d.kind for d in s.drift] == ["mix", "concept", "random_walk"]
    assert s.verifier is not None and s.verifier.on_flag == "human"
    assert s.human is not None and s.monitoring is not None and s.retraining is not None


def test_empirical_paths_given_with_set_are_relative_to_the_scenario_file():
    empirical = '{ dist = "empirical", path = "tokens.csv", column = "tokens_in" }'
    (message,) = validate_set(f"segments[2].tokens_in={empirical}")
    missing = Path(TICKET_TRIAGE).resolve().parent / "tokens.csv"
    assert message == (
        f"segments[2].tokens_in: {missing}: no such file; expected a CSV, Parquet or JSONL sample"
    )


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
    assert "student_only over 60 days" in result.stdout
