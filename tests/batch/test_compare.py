"""`distill-sim compare`: every policy and grid point on one request stream (common random
numbers), the Pareto frontier over cost, silent failures and p99, and the files it writes.

The expectations come from the DESIGN's semantics, not from the code: with the same seed the calls
are the same, so what differs between two policies is exact, not statistical."""

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from sim import runner
from sim.batch.compare import dominated
from sim.cli import app
from sim.problems import BadInput
from sim.scenario.grid import as_overrides, parse_axis, points
from sim.scenario.loading import apply_override, load_scenario

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = ROOT / "scenarios" / "ticket-triage.toml"
CODE_FIX = ROOT / "scenarios" / "code-fix-verify.toml"
ENSEMBLE = ROOT / "scenarios" / "latency-ensemble.toml"
SHORT = ("--set", "scenario.horizon_days=0.5")
FRONTIER = ("cost_per_call_usd", "silent_failure_rate", "latency_p99_s")
THRESHOLDS = (0.8, 1.0)


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def compared(*args: object) -> list[dict]:
    result = cli("compare", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_variant(summaries: list[dict]) -> dict[tuple, dict]:
    return {tuple(s["variant"].values()): s for s in summaries}


# --- dominated: hand-made rows -------------------------------------------------------------------


def rows(*triples: tuple) -> list[dict]:
    """Rows with the frontier's metrics (and an error rate the frontier must ignore)."""
    return [dict(zip(FRONTIER, t, strict=True), error_rate=0.5 - i) for i, t in enumerate(triples)]


@pytest.mark.parametrize(
    ("triples", "expected"),
    [
        # the middle row is worse than the first on all three
        (((1.0, 0.1, 2.0), (2.0, 0.2, 3.0), (0.5, 0.3, 1.0)), [False, True, False]),
        # equal on two, worse on one: dominated
        (((1.0, 0.1, 2.0), (1.0, 0.1, 2.5)), [False, True]),
        (((1.0, 0.1, 2.0), (1.0, 0.2, 2.0)), [False, True]),
        # a trade-off: nobody dominates
        (((1.0, 0.2, 2.0), (2.0, 0.1, 2.0), (3.0, 0.3, 1.0)), [False, False, False]),
        # ties do not dominate each other ...
        (((1.0, 0.1, 2.0), (1.0, 0.1, 2.0)), [False, False]),
        # ... and both lose to a row better than both
        (((1.0, 0.1, 2.0), (1.0, 0.1, 2.0), (1.0, 0.0, 2.0)), [True, True, False]),
        # a single row is the frontier; no rows, no marks
        (((9.0, 1.0, 99.0),), [False]),
        ((), []),
    ],
)
def test_dominated_on_hand_made_rows(triples, expected):
    assert dominated(rows(*triples)) == expected


def test_none_is_the_worst_value():
    # a missing p99 loses to any p99, however large
    assert dominated(rows((1.0, 0.1, None), (1.0, 0.1, 1e9))) == [True, False]
    assert dominated(rows((None, 0.0, 1.0), (5.0, 0.0, 1.0))) == [True, False]
    # but better elsewhere it still is on the frontier
    assert dominated(rows((1.0, 0.0, None), (2.0, 0.1, 1.0))) == [False, False]
    # two missing values tie
    assert dominated(rows((1.0, None, 1.0), (1.0, None, 1.0))) == [False, False]


# --- grid axes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "lo", "hi", "n"),
    [
        ("router.threshold=0.5:0.9:5", 0.5, 0.9, 5),
        ("router.threshold=0:1:11", 0, 1, 11),
        ("student.servers=1:4:4", 1, 4, 4),
        ("router.threshold=0.9:0.5:3", 0.9, 0.5, 3),  # descending is fine
        ("router.threshold=0.7:0.9:1", 0.7, 0.9, 1),
        (" router.threshold = 0.5 : 0.9 : 3 ", 0.5, 0.9, 3),
    ],
)
def test_range_axis_is_numpy_linspace(spec, lo, hi, n):
    path, values = parse_axis(spec)
    assert path == spec.split("=")[0].strip()
    assert values == np.linspace(lo, hi, n).tolist()
    assert all(type(v) is float for v in values)


@pytest.mark.parametrize(
    ("spec", "values"),
    [
        ("router.threshold=0.6,0.9", [0.6, 0.9]),
        ("student.servers=1, 2 ,4", [1, 2, 4]),
        ("router.on_deadline=return_student,fail", ["return_student", "fail"]),
        ('router.on_deadline="return_student","fail"', ["return_student", "fail"]),
        ('scenario.description="a, b",c', ["a, b", "c"]),
        ('scenario.description="a:b"', ["a:b"]),
        ("segments[0].in_training=true,false", [True, False]),
        ("traffic.weekly=[1,1,1,1,1,1,1],[1,1,1,1,1,0,0]", [[1] * 7, [1] * 5 + [0, 0]]),
        ("router.segment_thresholds={ garbled = 0.95 }", [{"garbled": 0.95}]),
        ("router.threshold=0.7", [0.7]),
    ],
)
def test_listed_axis_parses_toml_values(spec, values):
    assert parse_axis(spec) == (spec.split("=")[0].strip(), values)


def test_points_are_the_cartesian_product_in_order():
    got = points(["a.x=1,2,3", "b.y=0:1:2", "c.z=only"])
    assert len(got) == 3 * 2 * 1
    assert got[0] == {"a.x": 1, "b.y": 0.0, "c.z": "only"}
    assert got[1] == {"a.x": 1, "b.y": 1.0, "c.z": "only"}
    assert got[-1] == {"a.x": 3, "b.y": 1.0, "c.z": "only"}
    assert len({tuple(p.values()) for p in got}) == 6
    assert points([]) == [{}]


@pytest.mark.parametrize(
    "specs",
    [
        ["router.threshold=0.5,0.6", "router.threshold=0.7"],
        ["router.threshold=0.5,0.6", " router.threshold =0:1:3"],
    ],
)
def test_the_same_field_twice_is_bad_input(specs):
    with pytest.raises(BadInput) as bad:
        points(specs)
    (line,) = bad.value.problems
    assert line.startswith("--grid router.threshold: ") and "expected one axis per field" in line


@pytest.mark.parametrize(
    "spec",
    [
        "router.threshold",  # no =
        "=0.5,0.6",  # no path
        "router.threshold=",  # no values
        "router.threshold= , ,",
        "router.threshold=0.5:0.9",  # a range with two parts
        "router.threshold=0.5:0.9:3:4",
        "router.threshold=0.5:0.9:0",  # no points
        "router.threshold=0.5:0.9:-2",
        "router.threshold=0.5:0.9:2.5",
        "router.threshold=0.5:0.9:x",
        "router.threshold=low:high:3",
        "router.threshold=0:inf:3",
        "router.threshold=nan:1:3",
        "router.threshold=true:false:2",
        "router.threshold=0:1:1000000000",  # a typo must not exhaust memory
    ],
)
def test_malformed_axis_is_bad_input(spec):
    with pytest.raises(BadInput) as bad:
        parse_axis(spec)
    (line,) = bad.value.problems
    assert line.startswith("--grid")
    assert "got " in line and "; expected " in line


def test_overrides_round_trip_through_toml(raw):
    point = {
        "router.threshold": 0.1 + 0.2,
        "router.on_deadline": 'say "fail"\\now',
        "traffic.weekly": [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0],
        "router.segment_thresholds": {"core": 0.95, "odd key": 0.5},
        "segments[0].in_training": False,
        "student.servers": 3,
    }
    scenario = raw()
    for item in as_overrides(point):
        apply_override(scenario, item)
    assert scenario["router"]["threshold"] == 0.1 + 0.2
    assert scenario["router"]["on_deadline"] == 'say "fail"\\now'
    assert scenario["traffic"]["weekly"] == point["traffic.weekly"]
    assert scenario["router"]["segment_thresholds"] == {"core": 0.95, "odd key": 0.5}
    assert scenario["segments"][0]["in_training"] is False
    assert scenario["student"]["servers"] == 3


def test_a_grid_point_loads_as_the_scenario_it_names():
    point = {"router.threshold": 0.85, "router.segment_thresholds": {"garbled": 0.95}}
    s = load_scenario(TRIAGE, as_overrides(point))
    assert s.router.threshold == 0.85
    assert s.threshold_for("garbled") == 0.95 and s.threshold_for("core") == 0.85


# --- the command, end to end ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def triage(tmp_path_factory):
    """teacher_only, student_only and cascade at two thresholds on half a day of ticket triage."""
    out = tmp_path_factory.mktemp("compare") / "out"
    grid = ",".join(str(t) for t in THRESHOLDS)
    result = cli(
        "compare", TRIAGE, *SHORT, "--policy", "teacher_only", "--policy", "student_only",
        "--policy", "cascade", "--grid", f"router.threshold={grid}", "--out", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), out


def test_every_policy_and_point_in_order(triage):
    summaries, _ = triage
    assert len(summaries) == 6
    expected = [
        {"policy": p, "router.threshold": t}
        for p in ("teacher_only", "student_only", "cascade")
        for t in THRESHOLDS
    ]
    assert [s["variant"] for s in summaries] == expected
    assert [s["policy"] for s in summaries] == [v["policy"] for v in expected]
    assert all(isinstance(s["dominated"], bool) for s in summaries)


def test_common_random_numbers(triage):
    """One request stream: the same calls, and the same teacher answers behind every policy."""
    summaries, _ = triage
    assert len({s["calls"] for s in summaries}) == 1 and summaries[0]["calls"] > 10_000
    rows = by_variant(summaries)
    teacher = rows["teacher_only", 0.8]
    assert teacher["excess_error_rate"] == 0.0 and teacher["fallback_rate"] == 0.0
    for s in summaries:  # error − excess is the teacher alone's error on the same calls
        implied = s["error_rate"] - s["excess_error_rate"]
        assert implied == pytest.approx(teacher["error_rate"], rel=1e-12, abs=1e-15)
    # a threshold changes nothing for policies that do not read it
    for policy in ("teacher_only", "student_only"):
        a, b = rows[policy, 0.8], rows[policy, 1.0]
        for key in (*FRONTIER, "error_rate", "silent_failure_rate", "latency_p50_s"):
            assert a[key] == b[key], (policy, key)
    # cascade at threshold 1 falls back on every call (confidence < 1): the teacher's answers
    everything = rows["cascade", 1.0]
    assert everything["fallback_rate"] == 1.0
    assert everything["error_rate"] == pytest.approx(teacher["error_rate"], rel=1e-12)
    assert everything["silent_failure_rate"] == 0.0
    # student_only never asks the teacher: every wrong answer is silent
    alone = rows["student_only", 0.8]
    assert alone["fallback_rate"] == 0.0
    assert alone["silent_failure_rate"] == pytest.approx(alone["error_rate"], rel=1e-12)


def test_frontier_marks_agree_with_the_values(triage):
    summaries, _ = triage

    def worse_or_equal(a: dict, b: dict) -> bool:  # a is no better than b anywhere
        return all(a[m] >= b[m] for m in FRONTIER)

    for s in summaries:
        beaten = any(worse_or_equal(s, o) and any(s[m] > o[m] for m in FRONTIER) for o in summaries)
        assert s["dominated"] is beaten, s["variant"]
    rows = by_variant(summaries)
    # falling back on every call pays the student and the teacher, and waits for both
    assert rows["cascade", 1.0]["dominated"] is True
    assert rows["teacher_only", 0.8]["dominated"] is False  # cheapest per call here
    assert rows["student_only", 0.8]["dominated"] is False  # fastest: no teacher in p99


def test_files_hold_what_was_printed(triage):
    summaries, out = triage
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]  # no staging left behind
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.parquet",
        "manifest.json",
        "summaries.json",
    ]
    assert json.loads((out / "summaries.json").read_text()) == summaries
    table = pl.read_parquet(out / "compare.parquet")
    assert table.height == len(summaries)
    for row, s in zip(table.iter_rows(named=True), summaries, strict=True):
        assert row["policy"] == s["variant"]["policy"]
        assert row["point"] == f"router.threshold={s['variant']['router.threshold']:g}"
        assert row["dominated"] == s["dominated"]
        for key in (
            *FRONTIER, "fallback_rate", "error_rate", "excess_error_rate", "latency_p50_s",
            "override_rate", "failed_rate", "alerts", "retrains",
        ):  # fmt: skip
            assert row[key] == s[key], key
        assert row["slo_attainment"] is None and s["slo_attainment"] is None  # no deadline


def test_cascade_fallback_grows_with_the_threshold_on_one_stream():
    """The same calls and confidences at every threshold: raising it can only add fallbacks and
    remove silent failures, exactly (no deadline, no outage, unlimited teacher)."""
    summaries = compared(TRIAGE, *SHORT, "--policy", "cascade", "--grid", "router.threshold=0:1:6")
    thresholds = [s["variant"]["router.threshold"] for s in summaries]
    assert thresholds == np.linspace(0, 1, 6).tolist()
    fallback = [s["fallback_rate"] for s in summaries]
    silent = [s["silent_failure_rate"] for s in summaries]
    assert fallback == sorted(fallback) and fallback[0] == 0.0 and fallback[-1] == 1.0
    assert len(set(fallback)) == len(fallback)  # each step moves some calls
    assert silent == sorted(silent, reverse=True) and silent[-1] == 0.0
    assert len({s["calls"] for s in summaries}) == 1


def test_verify_catches_what_cascade_misses_at_the_verifiers_latency():
    s = load_scenario(CODE_FIX)
    assert s.verifier is not None
    summaries = compared(CODE_FIX, *SHORT, "--policy", "cascade", "--policy", "verify")
    cascade, verify = (by_variant(summaries)[(p,)] for p in ("cascade", "verify"))
    assert cascade["calls"] == verify["calls"]
    # verify falls back below the same threshold, and also on every flag
    assert verify["fallback_rate"] > cascade["fallback_rate"]
    assert verify["silent_failure_rate"] < cascade["silent_failure_rate"] / 5  # recall 0.97
    # every call waits for the verifier (median 25 s): the median answer is that much later
    median = s.verifier.latency_s.median
    assert verify["latency_p50_s"] > cascade["latency_p50_s"] + 0.8 * median
    assert verify["cost"]["verifier_usd"] == pytest.approx(
        verify["calls"] * s.verifier.usd_per_call, rel=1e-9
    )
    assert cascade["cost"]["verifier_usd"] == 0.0


def test_ensemble_pays_the_teacher_like_teacher_only_on_the_same_calls():
    summaries = compared(ENSEMBLE, *SHORT, "--policy", "ensemble", "--policy", "teacher_only")
    ensemble, teacher = (by_variant(summaries)[(p,)] for p in ("ensemble", "teacher_only"))
    assert ensemble["calls"] == teacher["calls"]
    # both call the teacher on every request
    assert ensemble["cost"]["teacher_usd"] == pytest.approx(teacher["cost"]["teacher_usd"])
    # the calls whose teacher misses the 4 s deadline: teacher_only fails them, the ensemble
    # keeps the student's answer shown first
    assert teacher["failed_rate"] > 0
    assert ensemble["abandoned_rate"] == pytest.approx(teacher["failed_rate"], rel=1e-12)
    assert ensemble["failed_rate"] == 0.0
    assert 0 < ensemble["override_rate"] < 1
    assert ensemble["first_answer_p99_s"] < teacher["first_answer_p99_s"]


def test_human_output_stars_the_frontier(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default directory is results/<name>/<stamp>-compare
    result = cli(
        "compare", TRIAGE, *SHORT, "--policy", "teacher_only", "--policy", "cascade",
        "--grid", "router.threshold=0.8,1.0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (directory,) = (tmp_path / "results" / "ticket-triage").iterdir()
    assert directory.name.endswith("-compare")
    summaries = json.loads((directory / "summaries.json").read_text())
    table = [line for line in result.stdout.splitlines() if "router.threshold=" in line]
    assert len(table) == 4
    for line, s in zip(table, summaries, strict=True):
        assert s["variant"]["policy"] in line
        assert ("★" in line) is (not s["dominated"])
    assert any("★" in line for line in table) and not all("★" in line for line in table)
    assert "Pareto frontier" in result.stdout
    header = next(line for line in result.stdout.splitlines() if "policy" in line)
    assert "alerts" in header and "retrains" in header
    assert f"results: {Path('results') / 'ticket-triage' / directory.name}" in result.stdout
    assert (directory / "compare.parquet").is_file()


def test_bad_grid_value_is_reported_once_before_any_run(tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a simulation ran before the input was checked")

    monkeypatch.setattr(runner, "run", never)
    result = cli(
        "compare", TRIAGE, *SHORT, "--policy", "cascade", "--policy", "student_only",
        "--grid", "router.threshold=0.5,1.5", "--grid", "student.servers=0,1",
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "student.servers: got 0; expected an integer in [1, 100000]",
        "router.threshold: got 1.5; expected a number in [0, 1]",
    ]
    assert not (tmp_path / "out").exists()


def test_a_policy_that_needs_a_table_is_named_once():
    result = cli("compare", TRIAGE, *SHORT, "--policy", "cascade", "--policy", "verify",
                 "--grid", "router.threshold=0.5,0.7")  # fmt: skip
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith('[policy verify] router.policy: got "verify" without a [verifier]')


def test_policy_is_not_a_grid_axis():
    result = cli("compare", TRIAGE, *SHORT, "--grid", "router.policy=cascade,teacher_only")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("--grid router.policy: got ") and "expected --policy" in line


def test_replications_are_compared_on_the_same_streams():
    summaries = compared(
        TRIAGE, "--set", "scenario.horizon_days=0.1", "--replications", "2",
        "--policy", "student_only", "--policy", "cascade",
    )  # fmt: skip
    assert [s["replications"] for s in summaries] == [2, 2]
    assert summaries[0]["calls"] == summaries[1]["calls"]
    assert all(set(s["ci95"]) >= {"error_rate"} for s in summaries)
    assert not math.isnan(summaries[1]["ci95"]["error_rate"][0])


def test_table_shows_abandoned_and_failed_shares(tmp_path):
    from sim.formatting import share

    out = tmp_path / "compared"
    result = cli("compare", TRIAGE, *SHORT, "--set", "router.deadline_s=1.5",
                 "--set", 'router.on_deadline="fail"', "--policy", "cascade",
                 "--policy", "teacher_only", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    summaries = json.loads((out / "summaries.json").read_text())
    table = pl.read_parquet(out / "compare.parquet")
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "abandoned" in line)
    cells = [c.strip() for c in header.split("┃")]
    assert cells[cells.index("fallback") + 1 : cells.index("fallback") + 3] == [
        "abandoned",
        "failed",
    ]
    for summary, row in zip(summaries, table.iter_rows(named=True), strict=True):
        assert row["abandoned_rate"] == summary["abandoned_rate"] > 0
        assert row["failed_rate"] == summary["failed_rate"]
        line = next(x for x in lines if f"│ {summary['policy']} " in x)
        cells = [c.strip() for c in line.split("│")]
        at = cells.index(share(summary["fallback_rate"]))
        assert cells[at + 1 : at + 3] == [
            share(summary["abandoned_rate"]),
            share(summary["failed_rate"]),
        ]
        # with on_deadline = "fail" every abandoned call fails (no outage here)
        assert summary["failed_rate"] == pytest.approx(summary["abandoned_rate"], rel=1e-12)
