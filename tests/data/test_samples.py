"""Empirical distributions: a sample's quantiles, its CDFs, and the engines drawing from it."""

import copy
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from typer.testing import CliRunner

from sim.analysis.metrics import summarize
from sim.cli import app
from sim.data.samples import EmpiricalDist
from sim.engine.control import run_fast
from sim.engine.kernels.sampling import quantile
from sim.scenario.distributions import build_tables, frozen
from sim.scenario.loading import load_scenario
from sim.scenario.models import Empirical
from tests.builders import BASE, raw, scenario
from tests.engine.test_engines_agree import MULTI, assert_engines_agree

SEEDS = [21, 22, 23]
U_GRID = (np.arange(1_000_000) + 0.5) / 1_000_000  # midpoints: E[g(Q(U))] to ~1e-6


def _sample(seed: int, n: int = 400, ties: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.beta(4, 2, n)
    return np.round(x, 2) if ties else x


def _write(tmp_path, name: str, values: np.ndarray, column: str = "value"):
    path = tmp_path / name
    frame = pl.DataFrame({"other": np.arange(len(values)), column: values})
    if name.endswith(".csv"):
        frame.write_csv(path)
    elif name.endswith(".parquet"):
        frame.write_parquet(path)
    else:
        frame.write_ndjson(path)
    return path


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_quantiles_are_the_samples(seed, ties):
    x = _sample(seed, ties=ties)
    d = EmpiricalDist(np.sort(x))
    u = np.random.default_rng(seed + 100).random(10_000)
    assert np.allclose(d.ppf(u), np.quantile(x, u), rtol=0, atol=1e-14)
    for q in (0.0, 0.1, 0.5, 0.9, 1.0):
        assert d.ppf(q) == pytest.approx(np.quantile(x, q), abs=1e-14)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_kernels_table_reproduces_them(tmp_path, seed):
    x = _sample(seed, n=3000)
    path = _write(tmp_path, "x.csv", x)
    tables = build_tables([Empirical(dist="empirical", path=str(path), column="value")])
    u = np.random.default_rng(seed).random(5000)
    kernel = np.array([quantile(0, v, tables.spec, tables.table) for v in u])
    # linear interpolation on a 16k-point grid of a 3000-point quantile function: ~1e-4
    assert np.abs(kernel - np.quantile(x, u)).max() < 1e-3
    assert frozen(Empirical(dist="empirical", path=str(path), column="value")).mean() == (
        pytest.approx(np.mean(np.quantile(x, U_GRID)), abs=1e-6)
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_cdfs_measure_the_quantile_function(seed, ties):
    """cdf(t) = P(Q(U) ≤ t) and cdf_below(t) = P(Q(U) < t), counted on a fine grid of U."""
    x = _sample(seed, ties=ties)
    d = EmpiricalDist(np.sort(x))
    values = np.quantile(x, U_GRID)
    for t in [x.min() - 0.1, *np.quantile(x, [0.05, 0.3, 0.5, 0.77]), 0.8, 0.9, x.max(), 1.5]:
        assert float(d.cdf(t)) == pytest.approx(np.mean(values <= t), abs=2e-6)
        assert float(d.cdf_below(t)) == pytest.approx(np.mean(values < t), abs=2e-6)
    assert d.mean() == pytest.approx(values.mean(), abs=1e-6)


def _empirical_scenario(tmp_path, seed, fmt="csv"):
    rng = np.random.default_rng(seed)
    right = _write(tmp_path, f"right.{fmt}", rng.beta(9, 1.5, 300), "confidence")
    wrong = _write(tmp_path, f"wrong.{fmt}", np.round(rng.beta(3, 3, 200), 2), "confidence")
    tokens = _write(tmp_path, f"tokens.{fmt}", rng.lognormal(6, 0.7, 500).round(), "tokens")
    segment = dict(
        BASE["segments"][0],
        tokens_in={"dist": "empirical", "path": str(tokens), "column": "tokens"},
        confidence_correct={"dist": "empirical", "path": str(right), "column": "confidence"},
        confidence_wrong={"dist": "empirical", "path": str(wrong), "column": "confidence"},
    )
    return scenario(segments=[segment], scenario={"horizon_days": 2.0})


@pytest.mark.parametrize("seed", SEEDS)
def test_cascade_on_empirical_confidences_matches_the_samples(tmp_path, seed):
    s = _empirical_scenario(tmp_path, seed)
    seg = s.segments[0]
    summary = summarize(s, seed, run_fast(s, seed, 1))
    n = summary["calls"]
    right = pl.read_csv(seg.confidence_correct.path)["confidence"].to_numpy()
    wrong = pl.read_csv(seg.confidence_wrong.path)["confidence"].to_numpy()
    # the cascade falls back when confidence < 0.8: P(Q(U) < 0.8), counted independently
    expected = 0.9 * np.mean(np.quantile(right, U_GRID) < 0.8) + 0.1 * np.mean(
        np.quantile(wrong, U_GRID) < 0.8
    )
    assert abs(summary["fallback_rate"] - expected) < 4.5 * math.sqrt(expected * (1 - expected) / n)
    # tokens: the teacher-only cost per call is the price of E[floor(Q(U))] tokens
    tokens = np.floor(np.quantile(pl.read_csv(seg.tokens_in.path)["tokens"].to_numpy(), U_GRID))
    per_call = (tokens * 3.0 + 40 * 15.0) / 1e6
    mean = summary["teacher_only_cost_usd"] / n
    assert abs(mean - per_call.mean()) < 4.5 * per_call.std() / math.sqrt(n)


def test_reference_engine_agrees_on_empirical_distributions(tmp_path):
    """Every metric within Welch bounds, with empirical confidences, tokens and service times."""
    rng = np.random.default_rng(8)
    r = copy.deepcopy(MULTI)
    r["scenario"]["horizon_days"] = 2.0
    service = _write(tmp_path, "service.csv", rng.lognormal(np.log(0.5), 0.6, 200), "s")
    r["student"]["service_s"] = {"dist": "empirical", "path": str(service), "column": "s"}
    for i, seg in enumerate(r["segments"]):
        wrong = _write(tmp_path, f"wrong{i}.csv", np.round(rng.beta(3, 3, 150), 2), "c")
        tokens = _write(tmp_path, f"tokens{i}.csv", rng.lognormal(6, 0.7, 300).round(), "t")
        seg["confidence_wrong"] = {"dist": "empirical", "path": str(wrong), "column": "c"}
        seg["tokens_in"] = {"dist": "empirical", "path": str(tokens), "column": "t"}
    relative_se = assert_engines_agree(r, ref_reps=12, fast_reps=200, seeds=(45, 46))
    assert {"fallback_rate", "latency_mean_s", "teacher_only_cost_usd"} <= relative_se.keys()


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_parquet_and_jsonl_samples_equal_csv(tmp_path, fmt):
    csv_dir, other_dir = tmp_path / "csv", tmp_path / fmt
    csv_dir.mkdir()
    other_dir.mkdir()
    a = _empirical_scenario(csv_dir, 4)
    b = _empirical_scenario(other_dir, 4, fmt)
    assert summarize(a, 4, run_fast(a, 4, 1)) == summarize(b, 4, run_fast(b, 4, 1))


def test_paths_are_relative_to_the_scenario_file(tmp_path, raw):
    import tomli_w

    (tmp_path / "data").mkdir()
    _write(tmp_path / "data", "service.csv", stats.lognorm(0.3, scale=0.1).rvs(50, random_state=1))
    r = raw(
        student={"service_s": {"dist": "empirical", "path": "data/service.csv", "column": "value"}}
    )
    (tmp_path / "s.toml").write_text(tomli_w.dumps(r))
    s = load_scenario(tmp_path / "s.toml")
    assert s.student.service_s.path == str(tmp_path / "data" / "service.csv")


def _problems(tmp_path, dist, confidence=False):
    import tomli_w

    r = raw()
    if confidence:
        r["segments"][0]["confidence_wrong"] = dist
    else:
        r["student"]["service_s"] = dist
    (tmp_path / "s.toml").write_text(tomli_w.dumps(r))
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "s.toml")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr.strip().splitlines()


def test_bad_samples_name_the_file_row_and_value(tmp_path):
    (tmp_path / "s.csv").write_text("value,name\n0.1,a\n0.2,b\nfast,c\n\n0.4,d\n")
    lines = _problems(tmp_path, {"dist": "empirical", "path": "s.csv", "column": "value"})
    assert [line.split("s.csv ", 1)[1] for line in lines] == [
        'data row 3, column value: got "fast"; expected a finite number',
        "data row 4, column value: got an empty cell; expected a finite number",
    ]
    assert all(line.startswith("student.service_s: ") for line in lines)
    (line,) = _problems(tmp_path, {"dist": "empirical", "path": "s.csv", "column": "valu"})
    assert "no column \"valu\" (did you mean 'value'?)" in line
    (line,) = _problems(tmp_path, {"dist": "empirical", "path": "none.csv", "column": "value"})
    assert "none.csv: no such file" in line
    (tmp_path / "c.csv").write_text("c\n0.5\n1.2\n-0.1\n")
    lines = _problems(
        tmp_path,
        {"dist": "empirical", "path": "c.csv", "column": "c"},
        confidence=True,
    )
    assert [x.split(": ", 1)[1].split(" row")[1] for x in lines] == [
        " 2, column c: got 1.2; expected a value in [0, 1]",
        " 3, column c: got -0.1; expected a value in [0, 1]",
    ]
