"""fit-traffic against synthetic traces with known answers, and the real Azure trace."""

import dataclasses
import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from scipy import stats
from typer.testing import CliRunner

from sim.cli import app
from sim.data.traces import TraceSpec
from sim.fit.dispersion import STRETCH
from sim.fit.diurnal import HOUR_AVERAGING
from sim.fit.traffic import WINDOWS_S, TrafficFit, fit
from sim.scenario.loading import load_scenario
from tests.traces import AZURE, azure_rows, write

ROOT = Path(__file__).resolve().parents[2]
AZURE_SPEC = TraceSpec(AZURE, "csv", "TIMESTAMP", "datetime", "ContextTokens", "GeneratedTokens")
LEVEL = 1e-4  # the tests' own two-sided level for Poisson's chi-square interval


def _grid_ns(t_s: np.ndarray) -> np.ndarray:
    """Seconds after midnight as integer ns on a 100 ns grid (the files' resolution)."""
    return (np.round(np.sort(t_s) * 1e7) * 100).astype(np.int64)


def _chi2_bound(dof: int) -> tuple[float, float]:
    return stats.chi2.ppf(LEVEL / 2, dof) / dof, stats.chi2.isf(LEVEL / 2, dof) / dof


def _load_with(fragment: str, tmp_path: Path):
    """A bundled scenario with its [traffic] replaced by the fragment, loaded by the simulator."""
    raw = tomllib.loads((ROOT / "scenarios" / "ticket-triage.toml").read_text())
    raw["traffic"] = tomllib.loads(fragment)["traffic"]
    path = tmp_path / "fitted.toml"
    path.write_text(tomli_w.dumps(raw))
    return load_scenario(path)


def _run_cli(spec: TraceSpec, out: Path, *options: str) -> str:
    args = ["fit-traffic", str(spec.path), "--time-column", spec.time_column]
    args += ["--time-unit", spec.time_unit, "--out", str(out), *options]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


# -- a homogeneous Poisson process, in each format ------------------------------------------

RATE = 5.0
SPAN_S = 40_000.0
TOKENS_IN = (math.log(800.0), 0.9)  # (mu, sigma) of log tokens
TOKENS_OUT = (math.log(150.0), 0.6)
ZERO_SHARE = 0.02


def _poisson_trace(tmp_path: Path, seed: int, suffix: str) -> tuple[TraceSpec, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rng.poisson(RATE * SPAN_S)
    ns = _grid_ns(3 * 3600 + rng.uniform(0, SPAN_S, n))
    tokens_in = np.rint(rng.lognormal(*TOKENS_IN, n))
    tokens_out = np.rint(rng.lognormal(*TOKENS_OUT, n))
    tokens_out[rng.random(n) < ZERO_SHARE] = 0
    return write(tmp_path / f"poisson{suffix}", ns, tokens_in, tokens_out), ns


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_poisson_rate_and_dispersion(tmp_path, seed, suffix):
    spec, ns = _poisson_trace(tmp_path, seed, suffix)
    result = fit(spec)
    t = (ns - ns[0]) / 1e9
    assert result.calls == len(ns) and result.duration_s == t[-1]
    assert result.rate_per_s == len(ns) / t[-1]
    true_se = math.sqrt(RATE / SPAN_S)
    assert abs(result.rate_per_s - RATE) < 4 * true_se  # 4 SE = 0.9%: a 1% bias fails
    assert result.rate_se_per_s == pytest.approx(true_se, rel=0.1)
    for d in result.dispersion:
        low, high = _chi2_bound(d.windows - 1)
        assert d.index is not None and low < d.index < high, d
        assert d.local is not None and d.poisson_low < d.local < d.poisson_high, d
    assert result.poisson == "fits"
    assert not result.diurnal.estimable and result.diurnal.amplitude == 0.0
    # CV of exponential gaps: ≈ normal(1, 1/n)
    assert result.interarrival_cv is not None
    assert abs(result.interarrival_cv - 1) < 4 / math.sqrt(len(ns))
    text = _run_cli(spec, tmp_path / "fragment.toml")
    fragment = (tmp_path / "fragment.toml").read_text()
    assert fragment in text and "[traffic.trace]" not in fragment
    s = _load_with(fragment, tmp_path)
    assert s.traffic.trace is None and s.traffic.diurnal_amplitude == 0.0
    assert s.traffic.calls_per_day == pytest.approx(result.calls_per_day, abs=0.05)


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_lognormal_tokens_are_recovered(tmp_path, seed):
    spec, _ = _poisson_trace(tmp_path, seed, ".parquet")
    tokens_in, tokens_out = fit(spec).tokens
    for fitted, (mu, sigma) in ((tokens_in, TOKENS_IN), (tokens_out, TOKENS_OUT)):
        n = fitted.calls - fitted.zeros
        assert fitted.median is not None and fitted.sigma is not None
        assert abs(math.log(fitted.median) - mu) < 4 * sigma / math.sqrt(n)
        assert abs(fitted.sigma - sigma) < 4 * sigma / math.sqrt(2 * n)
        assert fitted.lognormal_ks is not None and fitted.lognormal_ks < 0.01
    share = tokens_out.zeros / tokens_out.calls
    assert abs(share - ZERO_SHARE) < 4 * math.sqrt(ZERO_SHARE * (1 - ZERO_SHARE) / tokens_out.calls)


# -- bursts: batches of k calls at one instant -------------------------------------------------

BATCH = 4
BATCH_RATE = 2.5
BATCH_SPAN_S = 20_000.0


@pytest.mark.parametrize("seed", [31, 32])
def test_batches_of_k_give_dispersion_k_and_a_trace_fragment(tmp_path, seed):
    rng = np.random.default_rng(seed)
    batches = _grid_ns(rng.uniform(0, BATCH_SPAN_S, rng.poisson(BATCH_RATE * BATCH_SPAN_S)))
    spec = write(tmp_path / "batches.parquet", np.repeat(batches, BATCH))
    result = fit(spec)
    # counts are k × Poisson counts: variance/mean = k at every window, locally too
    for d in result.dispersion:
        low, high = _chi2_bound(d.windows - 1)
        assert d.index is not None and low < d.index / BATCH < high, d
        full, rest = divmod(d.windows, STRETCH)
        expected_dof = full * (STRETCH - 2) + max(rest - 2, 0)
        assert expected_dof - 2 * (STRETCH - 2) <= d.dof <= expected_dof  # empty stretches skip
        low, high = _chi2_bound(d.dof)
        assert d.local is not None and low < d.local / BATCH < high, d
        assert d.poisson_high is not None and d.local > d.poisson_high
    assert result.poisson == "bursty" and "bursts" in result.verdict
    rate = BATCH * BATCH_RATE
    true_se = math.sqrt(BATCH * rate / BATCH_SPAN_S)  # Var(calls) = k² · batches
    assert abs(result.rate_per_s - rate) < 4 * true_se
    low, high = _chi2_bound(result.dispersion[-1].dof)
    assert math.sqrt(low) < result.rate_se_per_s / true_se < math.sqrt(high)
    _run_cli(spec, tmp_path / "fragment.toml")
    fragment = (tmp_path / "fragment.toml").read_text()
    assert "[traffic.trace]" in fragment and "bursts" in fragment
    s = _load_with(fragment, tmp_path)
    assert s.traffic.trace is not None
    assert (s.traffic.trace.time_column, s.traffic.trace.time_unit) == ("t_s", "s")
    assert Path(s.traffic.trace.path) == spec.path.resolve()
    # the replay's rate: rows per period, the period being the span plus one mean gap
    calls = len(batches) * BATCH
    assert s.traffic.calls_per_day == pytest.approx((calls - 1) / result.duration_s * 86400)


# -- a daily cosine over three days ------------------------------------------------------------

MEAN_RATE = 10.0
AMPLITUDE = 0.4
PEAK_HOUR = 15.5
DAYS = 3


def _diurnal_trace(tmp_path: Path, seed: int) -> TraceSpec:
    rng = np.random.default_rng(seed)
    span = DAYS * 86400.0
    top = MEAN_RATE * (1 + AMPLITUDE)
    t = rng.uniform(0, span, rng.poisson(top * span))
    rate = MEAN_RATE * (1 + AMPLITUDE * np.cos(2 * np.pi * (t / 3600 - PEAK_HOUR) / 24))
    return write(tmp_path / "diurnal.parquet", _grid_ns(t[rng.random(len(t)) * top < rate]))


@pytest.mark.parametrize("seed", [41, 42])
def test_a_three_day_cosine_is_recovered(tmp_path, seed):
    spec = _diurnal_trace(tmp_path, seed)
    result = fit(spec)
    d, n = result.diurnal, result.calls
    assert d.estimable and d.peak_hour is not None and d.mean_rate_per_s is not None
    # hourly rates on 24 equispaced hours: Var(β_cos) = Var(β_sin) = 2 λ̄² / N, so
    # SE(a) ≈ √(2/N)/g and SE(peak) ≈ √(2/N)/(g·a) radians; 4 SE ≈ 0.9% of a here
    se_a = math.sqrt(2 / n) / HOUR_AVERAGING
    assert abs(d.amplitude - AMPLITUDE) < 4 * se_a
    se_peak_h = se_a / AMPLITUDE * 24 / (2 * math.pi)
    assert abs(d.peak_hour - PEAK_HOUR) < 4 * se_peak_h
    assert d.amplitude_se == pytest.approx(math.sqrt((2 - AMPLITUDE**2) / n), rel=0.1)
    assert abs(d.mean_rate_per_s - MEAN_RATE) < 4 * MEAN_RATE / math.sqrt(n)
    # the daily swing inflates the raw index (1 + λ̄·w·a²/2 at 60 s) but not the local one
    raw = result.dispersion[-1].index
    assert raw == pytest.approx(1 + MEAN_RATE * WINDOWS_S[-1] * AMPLITUDE**2 / 2, rel=0.05)
    assert result.poisson == "fits", result.verdict
    _run_cli(spec, tmp_path / "fragment.toml")
    s = _load_with((tmp_path / "fragment.toml").read_text(), tmp_path)
    assert s.traffic.diurnal_amplitude == pytest.approx(d.amplitude, abs=1e-4)
    assert s.traffic.peak_hour == pytest.approx(d.peak_hour, abs=0.005)
    assert s.traffic.calls_per_day == pytest.approx(d.mean_rate_per_s * 86400, abs=0.05)


# -- the real Azure trace, parsed here by the csv module -----------------------------------


def _local_dispersion(counts: np.ndarray) -> float:
    """Σ over stretches of STRETCH windows of RSS(line fit) / stretch mean, over Σ (n − 2)."""
    statistic, dof = 0.0, 0
    for start in range(0, len(counts), STRETCH):
        part = counts[start : start + STRETCH].astype(float)
        if len(part) < 3 or part.sum() == 0:
            continue
        x = np.arange(len(part))
        residual = part - np.polyval(np.polyfit(x, part, 1), x)
        statistic += (residual**2).sum() / part.mean()
        dof += len(part) - 2
    return statistic / dof


def test_the_azure_trace_estimates_equal_an_independent_computation():
    ns, tokens_in, tokens_out = azure_rows()
    t = ns / 1e9
    result = fit(AZURE_SPEC)
    assert result.calls == len(t) == 19_366
    assert result.duration_s == t[-1] and result.rate_per_s == 19_366 / t[-1]
    for d in result.dispersion:
        n = int(t[-1] // d.window_s)
        counts = np.bincount(np.floor(t / d.window_s).astype(int), minlength=n + 1)[:n]
        assert d.windows == n
        assert d.index == pytest.approx(counts.var(ddof=1) / counts.mean(), rel=1e-9, abs=0)
        assert d.local == pytest.approx(_local_dispersion(counts), rel=1e-9, abs=0)
    assert result.poisson == "bursty"
    for fitted, column in zip(result.tokens, (tokens_in, tokens_out), strict=True):
        assert fitted.mean == pytest.approx(column.mean(), rel=1e-12)
        for q in (50, 90, 99):
            exact = np.quantile(column, q / 100, method="inverted_cdf")
            assert fitted.quantiles[f"p{q}"] == exact
        logs = np.log(column[column > 0])
        assert fitted.median == pytest.approx(math.exp(logs.mean()), rel=1e-12)
        assert fitted.sigma == pytest.approx(logs.std(), rel=1e-9)
    gaps = np.diff(t)
    assert result.interarrival_cv == pytest.approx(gaps.std(ddof=1) / gaps.mean(), rel=1e-9)


def _flat(result: TrafficFit) -> dict:
    def walk(value, prefix=""):
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, f"{prefix}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{prefix}[{i}]")
        else:
            yield prefix, value

    return dict(walk(dataclasses.asdict(result)))


@pytest.mark.parametrize("rows_per_chunk", [7, 1000])
def test_chunk_size_does_not_change_the_estimates(rows_per_chunk):
    whole, pieces = _flat(fit(AZURE_SPEC)), _flat(fit(AZURE_SPEC, rows_per_chunk))
    assert whole.keys() == pieces.keys()
    for key, value in whole.items():
        if isinstance(value, float):
            assert pieces[key] == pytest.approx(value, rel=1e-12), key
        else:
            assert pieces[key] == value, key


def test_cli_guesses_the_azure_columns_and_its_fragment_replays_the_file(tmp_path):
    out = tmp_path / "fragment.toml"
    result = CliRunner().invoke(app, ["fit-traffic", str(AZURE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    fragment = out.read_text()
    assert fragment in result.stdout and "19366 calls" in result.stdout
    trace = tomllib.loads(fragment)["traffic"]["trace"]
    assert trace["time_column"] == "TIMESTAMP" and trace["time_unit"] == "datetime"
    assert (trace["tokens_in_column"], trace["tokens_out_column"]) == (
        "ContextTokens",
        "GeneratedTokens",
    )
    s = _load_with(fragment, tmp_path)
    assert s.traffic.trace is not None and Path(s.traffic.trace.path).resolve() == AZURE
    # the token lines are valid segment distributions once uncommented
    for line in fragment.splitlines():
        if line.startswith("# tokens_"):
            key, value = tomllib.loads(line[2:].split("   #")[0]).popitem()
            raw = tomllib.loads((ROOT / "scenarios" / "ticket-triage.toml").read_text())
            raw["segments"][0][key] = value
            (tmp_path / "s.toml").write_text(tomli_w.dumps(raw))
            load_scenario(tmp_path / "s.toml")
    as_json = CliRunner().invoke(app, ["fit-traffic", str(AZURE), "--json"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["calls"] == 19_366


def test_cli_asks_for_what_it_cannot_guess(tmp_path):
    numbers = tmp_path / "n.csv"
    numbers.write_text("t,other\n1.5,2\n2.5,3\n")
    two_dates = tmp_path / "d.csv"
    two_dates.write_text("a,b\n2023-11-16 18:00:00,2023-11-16 18:00:01\n")
    for path, options, words in (
        (numbers, [], "--time-column: required"),
        (numbers, ["--time-column", "t"], "--time-unit: required"),
        (two_dates, [], "several parse as datetimes (a, b)"),
        (numbers, ["--time-unit", "hours"], '--time-unit: got "hours"'),
        (tmp_path / "missing.csv", [], "no such file"),
    ):
        result = CliRunner().invoke(app, ["fit-traffic", str(path), *options])
        assert result.exit_code == 2 and "Traceback" not in result.output
        (line,) = result.stderr.strip().splitlines()
        assert words in line, line
