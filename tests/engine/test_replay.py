"""Trace replay against the real Azure trace, parsed here independently of the simulator."""

import math

import numpy as np
import polars as pl
import pytest
import tomli_w
from typer.testing import CliRunner

from sim import runner
from sim.analysis import economics
from sim.analysis.metrics import summarize
from sim.cli import app
from sim.engine.control import run_fast
from sim.engine.reference import run_reference
from sim.engine.replay import Replay
from sim.scenario.loading import load_scenario, validate
from tests.builders import raw
from tests.engine.test_engines_agree import assert_engines_agree
from tests.traces import AZURE, azure_rows

FILE_NS, FILE_IN, FILE_OUT = azure_rows()


def trace_raw(policy: str = "teacher_only", **trace) -> dict:
    r = raw(router={"policy": policy, "threshold": 0.8})
    del r["traffic"]["calls_per_day"]
    r["traffic"]["trace"] = {
        "path": str(AZURE),
        "time_column": "TIMESTAMP",
        "tokens_in_column": "ContextTokens",
        "tokens_out_column": "GeneratedTokens",
        "loop": False,
        **trace,
    }
    return r


def test_the_file_is_what_its_readme_says():
    assert len(FILE_NS) == 19_366
    assert FILE_NS[0] == 0 and np.all(np.diff(FILE_NS) >= 0)
    assert (
        AZURE.read_bytes().count(b"\r\n") == 19_366
    )  # CRLF after the header and every row but the last


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_replay_without_loop_gives_one_call_per_row(engine):
    s = validate(trace_raw())
    assert s.scenario.horizon_days * 86400 == pytest.approx(FILE_NS[-1] / 1e9 + 1e-6, abs=1e-9)
    run = run_fast if engine == "fast" else run_reference
    summary = summarize(s, 3, run(s, 3, 1))
    assert summary["calls"] == len(FILE_NS)


def test_replayed_inter_arrival_times_equal_the_files():
    s = validate(trace_raw())
    calls = runner.run(s, sample_fraction=1.0).calls_sample
    assert calls is not None and calls.height == len(FILE_NS)
    arrivals = calls["arrival_s"].to_numpy()
    assert np.abs(np.diff(arrivals) - np.diff(FILE_NS) / 1e9).max() < 1e-6
    assert np.abs(arrivals - FILE_NS / 1e9).max() < 1e-6


def test_teacher_only_cost_is_the_sum_of_the_rows_token_prices():
    # per-token prices that are exact binary fractions: the sum is exact, so equal to the bit
    r = trace_raw()
    r["teacher"].update(input_usd_per_mtok=500_000.0, output_usd_per_mtok=250_000.0)
    summary = summarize(validate(r), 1, run_fast(validate(r), 1, 1))
    assert summary["teacher_only_cost_usd"] == 0.5 * FILE_IN.sum() + 0.25 * FILE_OUT.sum()
    # list prices: the same sum, to the rounding of adding 19,365 products
    s = validate(trace_raw())
    summary = summarize(s, 1, run_fast(s, 1, 1))
    expected = math.fsum((3.0 * FILE_IN + 15.0 * FILE_OUT) / 1e6)
    assert summary["teacher_only_cost_usd"] == pytest.approx(expected, rel=1e-12)
    assert summary["cost"]["teacher_usd"] == pytest.approx(expected, rel=1e-12)


def test_loop_fills_the_horizon_with_whole_and_partial_passes():
    s = validate(trace_raw(loop=True) | {"scenario": {"name": "t", "horizon_days": 0.3}})
    period_ns = FILE_NS[-1] * len(FILE_NS) / (len(FILE_NS) - 1)
    horizon_ns = 0.3 * 86400e9
    passes = int(horizon_ns // period_ns)
    expected = passes * len(FILE_NS) + int(np.sum(horizon_ns - passes * period_ns > FILE_NS))
    summary = summarize(s, 2, run_fast(s, 2, 1))
    assert summary["calls"] == expected
    assert s.traffic.calls_per_day == pytest.approx(len(FILE_NS) / period_ns * 86400e9)


def test_speedup_compresses_time():
    s = validate(trace_raw(speedup=4.0))
    calls = runner.run(s, sample_fraction=1.0).calls_sample
    assert calls is not None and calls.height == len(FILE_NS)
    gaps = np.diff(calls["arrival_s"].to_numpy())
    assert np.abs(gaps - np.diff(FILE_NS) / 4e9).max() < 1e-6


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_rate_multiplier_repeats_or_thins_calls(seed):
    for m in (2.5, 0.4):
        s = validate(trace_raw(rate_multiplier=m))
        calls = summarize(s, seed, run_fast(s, seed, 1))["calls"]
        frac = m - math.floor(m)
        sd = math.sqrt(len(FILE_NS) * frac * (1 - frac))
        assert abs(calls - m * len(FILE_NS)) < 4.5 * sd


def test_tokens_from_the_trace_drive_latency():
    """Teacher-only latency: E[latency] + seconds_per_output_token × the file's mean tokens."""
    r = trace_raw()
    r["teacher"]["seconds_per_output_token"] = 0.01
    r["teacher"]["latency_s"] = {"dist": "exponential", "mean": 0.5}
    summary = summarize(validate(r), 8, run_fast(validate(r), 8, 1))
    n = len(FILE_NS)
    expected = 0.5 + 0.01 * FILE_OUT.mean()
    assert abs(summary["latency_mean_s"] - expected) < 4.5 * 0.5 / math.sqrt(n)


def _labelled(column: str, cut: int, short: str) -> pl.DataFrame:
    """The Azure trace with a `kind` column: "long" above `cut` tokens in `column`, else short."""
    long = pl.col(column).cast(pl.Int64) > cut
    kind = pl.when(long).then(pl.lit("long")).otherwise(pl.lit(short)).alias("kind")
    return pl.read_csv(AZURE, infer_schema=False).with_columns(kind)


def test_segments_from_a_column(tmp_path):
    frame = _labelled("GeneratedTokens", 200, "core")
    path = tmp_path / "trace.parquet"
    frame.write_parquet(path)
    r = trace_raw(path=str(path), segment_column="kind", format="parquet")
    base = r["segments"][0]
    r["segments"] = [dict(base, name="core", weight=0.0), dict(base, name="long", weight=1.0)]
    s = validate(r)
    summary = summarize(s, 1, run_fast(s, 1, 1))
    long_calls = int(np.sum(FILE_OUT > 200))
    assert summary["segments"]["long"]["calls"] == long_calls
    assert summary["segments"]["core"]["calls"] == len(FILE_NS) - long_calls


def test_the_plan_prices_the_traces_own_tokens_and_mix(tmp_path):
    """On whole loop passes the seed's N·c_t is exactly the realized teacher-only bill."""
    frame = _labelled("ContextTokens", 1000, "short")
    frame.write_csv(tmp_path / "trace.csv")
    n = len(FILE_NS)
    period_s = FILE_NS[-1] / 1e9 * n / (n - 1)
    r = trace_raw(path=str(tmp_path / "trace.csv"), segment_column="kind", loop=True)
    r["scenario"]["horizon_days"] = 3 * period_s / 86400
    base = r["segments"][0]  # weights and token distributions the trace overrides
    r["segments"] = [dict(base, name="short", weight=0.9), dict(base, name="long", weight=0.1)]
    s = validate(r)
    plan = economics.planned(s)
    summary = summarize(s, 1, run_fast(s, 1, 1))
    assert summary["calls"] == 3 * n
    assert plan["calls"] == pytest.approx(3 * n, rel=1e-9)
    bill = 3 * math.fsum((3.0 * FILE_IN + 15.0 * FILE_OUT) / 1e6)
    assert summary["teacher_only_cost_usd"] == pytest.approx(bill, rel=1e-9)
    assert plan["teacher_only_usd"] == pytest.approx(bill, rel=1e-9)


def test_chunked_replay_equals_one_chunk():
    s = validate(trace_raw(loop=True) | {"scenario": {"name": "t", "horizon_days": 0.1}})
    whole, small = Replay(s), Replay(s, rows_per_chunk=777)
    for end in np.linspace(0, s.horizon_s, 13)[1:]:
        assert np.array_equal(whole.take(end), small.take(end))


def test_engines_agree_on_a_replayed_trace_with_queueing():
    """Real bursty arrivals through a busy student pool: the reference engine's queue and the
    kernels' slot heap must agree (arrivals are identical; latents differ by seed)."""
    r = trace_raw("cascade")
    r["student"].update(
        servers=1,
        concurrency=8,
        service_s={"dist": "lognormal", "median": 0.6, "sigma": 0.5},
        seconds_per_output_token=0.002,
    )
    relative_se = assert_engines_agree(r, ref_reps=8, fast_reps=60, seeds=(51, 52))
    assert {"queue_wait_mean_s", "fallback_rate", "latency_mean_s"} <= relative_se.keys()


def test_same_seed_same_summary():
    s = validate(trace_raw("cascade", rate_multiplier=1.5))
    a, b = (summarize(s, 9, run_fast(s, 9, 2)) for _ in range(2))
    assert a == b


def _cli_problems(tmp_path, r):
    path = tmp_path / "s.toml"
    path.write_text(tomli_w.dumps(r))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not out.exists()
    return result.stderr.strip().splitlines()


def test_scenario_level_trace_problems(tmp_path):
    r = trace_raw()
    r["traffic"].update(calls_per_day=1000, diurnal_amplitude=0.3)
    assert _cli_problems(tmp_path, r) == [
        "traffic.calls_per_day: got 1000 with a [traffic.trace]; expected no calls_per_day (the "
        "trace sets the rate; scale it with trace.rate_multiplier or trace.speedup)",
        "traffic.diurnal_amplitude: got 0.3 with a [traffic.trace]; expected 0.0 (a replayed "
        "trace has its own daily and weekly shape)",
    ]
    r = trace_raw(segment_column="kind")
    frame = pl.DataFrame({"t": [0.0, 1.0, 2.0], "kind": ["core", "cor", "other"]})
    frame.write_csv(tmp_path / "k.csv")
    r["traffic"]["trace"].update(
        path=str(tmp_path / "k.csv"), time_column="t", time_unit="s", tokens_in_column=None
    )
    r["traffic"]["trace"] = {k: v for k, v in r["traffic"]["trace"].items() if v is not None}
    del r["traffic"]["trace"]["tokens_out_column"]
    assert _cli_problems(tmp_path, r) == [
        "traffic.trace.segment_column: got segment \"cor\" (did you mean 'core'?) in the trace; "
        "expected one of core",
        'traffic.trace.segment_column: got segment "other" in the trace; expected one of core',
    ]


def test_file_problems_name_the_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        b"TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
        b"2023-11-16 18:15:46.6805900,374,44\r\n"
        b"2023-11-16 18:15:45.0000000,10,-3\r\n"
        b"yesterday,5,5\r\n"
    )
    lines = _cli_problems(tmp_path, trace_raw(path=str(bad)))
    assert lines and all(line.startswith("traffic.trace") for line in lines)
    text = "\n".join(lines)
    for row in ("2", "3"):
        assert f"row {row}" in text
    r = trace_raw(time_column="TIME")
    (line,) = _cli_problems(tmp_path, r)
    assert "TIME" in line and "TIMESTAMP" in line


def test_trace_paths_are_relative_to_the_scenario_file(tmp_path, monkeypatch):
    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "trace.csv").write_bytes(AZURE.read_bytes())
    r = trace_raw(path="trace.csv")
    (folder / "s.toml").write_text(tomli_w.dumps(r))
    monkeypatch.chdir(tmp_path)
    s = load_scenario(folder / "s.toml")
    assert s.traffic.trace is not None and s.traffic.trace.path == str(folder / "trace.csv")
