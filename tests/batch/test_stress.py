"""`distill-sim stress`: bisection finds a crossing known exactly (a cascade's fallback rate is a
mixture of Beta CDFs in the threshold) within the uncertainty it states; targets parse strictly;
bad input is one line and exit 2."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest
import tomli_w
from scipy import optimize, stats
from typer.testing import CliRunner

from sim.batch import executors, stress
from sim.batch.executors import Workers
from sim.cli import app
from sim.problems import BadInput
from tests.builders import raw

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = ROOT / "scenarios" / "ticket-triage.toml"
ACCURACY = 0.9


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def threads() -> Workers:
    return Workers(ThreadPoolExecutor(2), 2, "threads")


@pytest.fixture(scope="module")
def cascade(tmp_path_factory) -> Path:
    """One segment, 50 000 calls a replication, confidence Beta(9, 1.5) right, Beta(3, 3) wrong."""
    path = tmp_path_factory.mktemp("stress") / "cascade.toml"
    scenario = raw(scenario={"name": "cascade", "horizon_days": 0.05, "seed": 0, "tick_s": 3600})
    path.write_text(tomli_w.dumps(scenario))
    return path


def exact_threshold(rate: float) -> float:
    """The threshold at which P(confidence < threshold) = rate."""

    def fallback(t: float) -> float:
        right, wrong = stats.beta(9, 1.5).cdf(t), stats.beta(3, 3).cdf(t)
        return ACCURACY * right + (1 - ACCURACY) * wrong - rate

    return optimize.brentq(fallback, 0.01, 0.99)


@pytest.mark.parametrize("rate", [0.2, 0.4])
def test_bisection_finds_the_exact_crossing_within_its_uncertainty(cascade, rate):
    """The stated uncertainty is a 95% one (three replications' t-interval through the slope,
    plus the bracket): over ten seeds the exact crossing lies inside it at least nine times (at
    exactly 95% coverage, two or more misses happen 9% of the time; a biased or understated
    uncertainty misses far more), and never beyond twice it."""
    target = stress.parse_target(f"fallback_rate<={rate}")
    exact = exact_threshold(rate)
    inside = 0
    with ThreadPoolExecutor(2) as pool:
        workers = Workers(pool, 2, "threads")
        for seed in range(10):
            overrides = [f"scenario.seed={seed}", "scenario.replications=3"]
            found = stress.bisect(cascade, overrides, "router.threshold=0.5:0.99", target, workers)
            error = abs(found["critical"] - exact)
            inside += error <= found["uncertainty"]
            assert error <= 2 * found["uncertainty"], (seed, found["critical"], exact)
            assert found["noise"] is not None and found["uncertainty"] < 0.02  # not a shrug
            assert found["holds_below"]
            assert found["bracket"][0] <= found["critical"] <= found["bracket"][1]
            holds = [p["holds"] for p in found["curve"]]  # by value: holds, then fails, once
            assert holds == sorted(holds, reverse=True)
    assert inside >= 9


def test_from_the_cli_with_the_curve_saved(cascade, tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "start", lambda workers, cluster: threads())
    out = tmp_path / "stress"
    result = cli("stress", cascade, "--vary", "router.threshold=0.5:0.99", "--target",
                 "fallback_rate<=0.2", "--steps", "6", "--out", out, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    curve = pl.read_parquet(out / "stress.parquet")
    assert curve.height == 2 + 6 and curve["value"].is_sorted()
    assert curve["holds"].to_list() == [p["holds"] for p in found["curve"]]
    assert found["statement"].startswith("fallback_rate<=0.2 holds while router.threshold is below")
    human = cli("stress", cascade, "--vary", "router.threshold=0.5:0.99", "--target",
                "fallback_rate<=0.2", "--steps", "3", "--out", tmp_path / "human")  # fmt: skip
    assert human.exit_code == 0, human.output
    assert "is lost above it" in human.stdout and "stress step 3:" in human.stderr


def test_an_integer_field_is_bisected_on_integers(cascade):
    target = stress.parse_target("queue_wait_mean_s<=0.01")
    with ThreadPoolExecutor(2) as pool:
        found = stress.bisect(
            cascade,
            ["student.concurrency=1", "scenario.replications=2"],
            "student.servers=1:6",
            target,
            Workers(pool, 2, "threads"),
        )
    values = [p["value"] for p in found["curve"]]
    assert all(float(v).is_integer() for v in values)
    assert found["bracket"][1] - found["bracket"][0] == 1
    assert not found["holds_below"]  # more servers, less waiting


def test_a_null_metric_meets_no_target():
    assert not stress.parse_target("break_even_day<=120").holds(None)
    assert not stress.parse_target("break_even_day>120").holds(None)
    assert stress.parse_target("break_even_day<=120").holds(120.0)
    assert not stress.parse_target("savings_ratio>0").holds(0.0)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("savings_ratio", '--target: got "savings_ratio"; expected METRIC OP NUMBER'),
        ("savings_ratio=>0", '--target: got "savings_ratio=>0"; expected METRIC OP NUMBER'),
        ("savings_ratio==0", '--target: got "savings_ratio==0"; expected METRIC OP NUMBER'),
        ("savings_ration>0", "--target: got metric \"savings_ration\" (did you mean "
                             "'savings_ratio'?); expected a numeric key of summary.json"),
        ("savings_ratio>zero", '--target savings_ratio>: got "zero"; expected a finite number'),
        ("savings_ratio>nan", '--target savings_ratio>: got "nan"; expected a finite number'),
    ],
)  # fmt: skip
def test_a_malformed_target_is_one_line(text, line):
    with pytest.raises(BadInput) as bad:
        stress.parse_target(text)
    (got,) = bad.value.problems
    assert got.startswith(line), got


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--vary", "router.treshold=0.5:0.9", "--target", "fallback_rate<=0.2"),
         "--vary router.treshold: unknown field 'treshold' (did you mean 'threshold'?)"),
        (("--vary", "router.threshold=0.9:0.5", "--target", "fallback_rate<=0.2"),
         '--vary router.threshold: got "0.9:0.5", an empty range; expected lo < hi'),
        (("--vary", "router.threshold=0.5:0.5", "--target", "fallback_rate<=0.2"),
         '--vary router.threshold: got "0.5:0.5", an empty range; expected lo < hi'),
        (("--vary", "router.threshold=0.5:0.9:3", "--target", "fallback_rate<=0.2"),
         '--vary router.threshold: got "0.5:0.9:3"; expected lo:hi with finite numbers'),
        (("--vary", "router.threshold=0.5:1.5", "--target", "fallback_rate<=0.2"),
         "router.threshold: got 1.5; expected a number in [0, 1]"),
        (("--vary", "router.threshold=0.5:0.9", "--target", "fallback_rate<=2"),
         "--target fallback_rate<=2: holds at both ends of --vary router.threshold=0.5:0.9"),
        (("--vary", "router.threshold=0.5:0.9", "--target", "fallback_rat<=2"),
         "--target: got metric \"fallback_rat\" (did you mean 'fallback_rate'?)"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(cascade, tmp_path, monkeypatch, args, line):
    monkeypatch.setattr(executors, "start", lambda workers, cluster: threads())
    out = tmp_path / "never"
    result = cli("stress", cascade, *args, "--out", out)
    assert result.exit_code == 2, result.output
    (got,) = result.stderr.splitlines()
    assert got.startswith(line), got
    assert not out.exists()


@pytest.mark.parametrize("target", ["fallback_rate<=2", "fallback_rate>2"])
def test_a_target_that_holds_or_fails_at_both_ends_stops_after_the_ends(
    cascade, tmp_path, monkeypatch, target
):
    """The two ends are the first (and, here, the only) points evaluated: one batch of two
    scenarios, every replication of both in parallel, then the refusal."""
    batches = []
    replicate = stress.sweep.replicate

    def counted(workers, scenarios):
        batches.append([s.scenario.replications for s in scenarios])
        return replicate(workers, scenarios)

    monkeypatch.setattr(stress.sweep, "replicate", counted)
    monkeypatch.setattr(executors, "start", lambda workers, cluster: threads())
    result = cli("stress", cascade, "--vary", "router.threshold=0.5:0.9", "--target", target)
    assert result.exit_code == 2, result.output
    assert "at both ends" in result.stderr
    assert batches == [[3, 3]]


def test_the_curve_keeps_every_metric_and_the_table_shows_monitoring(
    cascade, tmp_path, monkeypatch
):
    monkeypatch.setattr(executors, "start", lambda workers, cluster: threads())
    out = tmp_path / "stress"
    result = cli("stress", cascade, "--vary", "router.threshold=0.5:0.99", "--target",
                 "fallback_rate<=0.2", "--steps", "3", "--out", out, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    curve = pl.read_parquet(out / "stress.parquet")
    assert set(stress.sweep.METRICS) <= set(curve.columns)
    assert curve["fallback_rate"].to_list() == curve["mean"].to_list()  # the target's own column
    for row, point in zip(curve.iter_rows(named=True), found["curve"], strict=True):
        assert {m: row[m] for m in stress.sweep.METRICS} == point["metrics"]
        assert row["calls"] > 0 and row["cost.total_usd"] > 0
    assert found["coincides"] is None  # no monitoring: nothing to coincide with
    human = cli("stress", cascade, "--vary", "router.threshold=0.5:0.99", "--target",
                "fallback_rate<=0.2", "--steps", "1", "--out", tmp_path / "human")  # fmt: skip
    header = next(line for line in human.stdout.splitlines() if "step" in line)
    assert "alerts" in header and "retrains" in header


def point(value: float, retrains: float, alerts: float, holds: bool) -> stress.Point:
    return stress.Point(0, value, 1.0, None, None, holds, {"retrains": retrains, "alerts": alerts})


@pytest.mark.parametrize(
    ("a", "b", "words"),
    [
        ((0.0, 1.0), (2.0, 1.0), "retraining starting"),
        ((0.0, 0.0), (0.0, 3.0), "monitoring acting"),
        ((1.0, 1.0), (2.0, 2.0), "the number of alerts or retrainings changing"),
    ],
)
def test_a_change_of_monitoring_inside_the_last_bracket_is_one_line(a, b, words):
    line = stress.coincidence("recall", point(0.66, *a, True), point(0.67, *b, False))
    assert line is not None and "\n" not in line
    assert line.startswith(f"The crossing coincides with {words} inside the last bracket of recall")
    assert stress.coincidence("recall", point(0.66, *a, True), point(0.67, *a, False)) is None


def test_a_crossing_made_by_retraining_starting_says_so(cascade, tmp_path, monkeypatch):
    """Cost crosses its target where the fallback rate crosses the alert threshold: the alert
    starts a retraining whose $1M compute dwarfs every other cost, so the last bracket's ends
    differ in retrainings, and stress says so."""
    monkeypatch.setattr(executors, "start", lambda workers, cluster: threads())
    sets = ["--set", "monitoring.fallback_rate_alert=0.25", "--set", 'retraining.trigger="alert"',
            "--set", "retraining.compute_usd=1000000"]  # fmt: skip
    result = cli("stress", cascade, *sets, "--vary", "router.threshold=0.5:0.99", "--target",
                 "cost.total_usd<=500000", "--steps", "8", "--out", tmp_path / "s")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("The crossing")]
    assert len(lines) == 1 and "retrains" in lines[0]
    curve = pl.read_parquet(tmp_path / "s" / "stress.parquet").sort("value")
    below = curve.filter(~pl.col("holds"))["value"].min()
    last = curve.filter(pl.col("value") <= below).tail(2)
    assert last["retrains"][0] != last["retrains"][1]  # the bracket the line speaks of
