"""A run's outputs: every summary key of DESIGN.md, the files, atomic writing, --json."""

import json
import tomllib
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from sim.cli import app
from sim.formatting import money
from sim.scenario.loading import validate

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "ticket-triage.toml"
SHORT = ["--set", "scenario.horizon_days=0.5"]

SUMMARY_KEYS = {
    "scenario", "policy", "seed", "replications", "horizon_days", "calls",
    "fallback_rate", "error_rate", "silent_failure_rate", "excess_error_rate",
    "secondary_silent_failure_rate", "eval_error_rate", "latency_mean_s", "latency_p50_s",
    "latency_p95_s", "latency_p99_s", "first_answer_p99_s", "slo_attainment",
    "queue_wait_mean_s", "student_utilization", "override_rate", "failed_rate", "cost",
    "cost_per_call_usd", "teacher_only_cost_usd", "savings_usd", "savings_ratio",
    "break_even_day", "alerts", "retrains", "observed_error_rate", "planned", "segments", "ci95",
    "risk_adjusted_total_usd", "teacher_only_risk_adjusted_usd", "risk_adjusted_savings_usd",
    "risk_adjusted_break_even_day",
}  # fmt: skip
COST_KEYS = {
    "student_gpu_usd", "teacher_usd", "verifier_usd", "human_usd", "fixed_usd",
    "retraining_usd", "audit_usd", "total_usd", "failure_usd",
}  # fmt: skip
TIMESERIES_COLUMNS = {
    "replication", "tick", "time_s", "calls", "fallback_rate", "error_rate",
    "silent_failure_rate", "cost_usd", "latency_p99_s", "student_version", "failure_usd",
    "teacher_only_failure_usd", "cumulative_risk_adjusted_cost_usd",
    "cumulative_teacher_only_risk_adjusted_usd",
}  # fmt: skip


def run(*args: str):
    return CliRunner().invoke(app, ["run", str(SCENARIO), *SHORT, *args])


def test_json_output_has_every_key_and_files_agree(tmp_path):
    out = tmp_path / "run"
    result = run("--json", "--out", str(out), "--replications", "2")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) >= SUMMARY_KEYS
    assert set(summary["cost"]) == COST_KEYS
    assert set(summary["segments"]) == {"core", "rare_categories", "garbled"}
    assert {"fallback_rate", "cost.total_usd"} <= set(summary["ci95"])
    low, high = summary["ci95"]["fallback_rate"]
    assert low <= summary["fallback_rate"] <= high
    assert json.loads((out / "summary.json").read_text()) == summary
    series = pl.read_parquet(out / "timeseries.parquet")
    assert set(series.columns) >= TIMESERIES_COLUMNS
    assert series.height == 2 * 12
    assert series["calls"].sum() == round(summary["calls"] * 2)
    assert abs(series["cost_usd"].sum() - summary["cost"]["total_usd"] * 2) < 1e-6
    resolved = tomllib.loads((out / "scenario.toml").read_text())
    assert validate(resolved).scenario.horizon_days == 0.5
    assert sorted(p.name for p in out.iterdir()) == [
        "events.parquet",
        "manifest.json",
        "report-cost.png",
        "report-latency.png",
        "report-rates.png",
        "report.html",
        "scenario.toml",
        "summary.json",
        "timeseries.parquet",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_segment_calls_add_up(tmp_path):
    result = run("--json", "--out", str(tmp_path / "r"))
    summary = json.loads(result.stdout)
    assert sum(s["calls"] for s in summary["segments"].values()) == summary["calls"]


def test_calls_sample(tmp_path):
    out = tmp_path / "run"
    result = run("--json", "--out", str(out), "--calls-sample", "0.01")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    calls = pl.read_parquet(out / "calls.parquet")
    assert abs(calls.height - summary["calls"] / 100) <= 1
    assert set(calls["segment"].unique()) <= {"core", "rare_categories", "garbled"}
    fell_back = calls["fell_back"].mean()
    assert abs(fell_back - summary["fallback_rate"]) < 5 * (0.1 * 0.9 / calls.height) ** 0.5
    assert calls.filter(pl.col("silent_failure"))["student_correct"].sum() == 0


def test_human_table_and_default_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run()
    assert result.exit_code == 0, result.output
    assert "silent failure rate" in result.stdout
    runs = list((tmp_path / "results" / "ticket-triage").iterdir())
    assert len(runs) == 1 and (runs[0] / "summary.json").is_file()


def test_rerun_into_same_out_replaces_atomically(tmp_path):
    out = tmp_path / "run"
    assert run("--json", "--out", str(out), "--seed", "1").exit_code == 0
    assert run("--json", "--out", str(out), "--seed", "2", "--force").exit_code == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_reference_engine_from_the_cli(tmp_path):
    result = CliRunner().invoke(
        app,
        ["run", str(SCENARIO), "--set", "scenario.horizon_days=0.05", "--engine", "reference",
         "--json", "--out", str(tmp_path / "r")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["engine"] == "reference" and summary["calls"] > 0


def test_the_table_shows_risk_adjusted_figures_only_when_failures_are_priced(tmp_path):
    plain = run("--out", str(tmp_path / "plain"))
    assert plain.exit_code == 0, plain.output
    assert "risk-adjusted" not in plain.stdout and "priced failures" not in plain.stdout
    priced = run("--out", str(tmp_path / "priced"), "--set", "economics.wrong_answer_usd=2")
    assert priced.exit_code == 0, priced.output
    summary = json.loads((tmp_path / "priced" / "summary.json").read_text())
    lines = priced.stdout.splitlines()
    # each risk-adjusted figure right below its plain one, as summary.json has it
    for plain_label, label, key in (
        ("total cost", "risk-adjusted total", "risk_adjusted_total_usd"),
        ("teacher-only cost", "risk-adjusted", "teacher_only_risk_adjusted_usd"),
        ("savings ", "risk-adjusted", "risk_adjusted_savings_usd"),
    ):
        at = next(i for i, line in enumerate(lines) if f"│ {plain_label}" in line)
        below = lines[at + 1 : at + 3]
        row = next(line for line in below if f"│   {label} " in line)
        assert money(summary[key]) in row, (label, row)


def test_table_shows_abandoned_and_failed_beside_the_fallback_rate(tmp_path):
    from sim.formatting import share

    out = tmp_path / "run"
    result = run("--out", str(out), "--set", "router.deadline_s=0.5")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    lines = result.stdout.splitlines()
    labels = ("fallback rate", "abandoned at the deadline", "  of the fallbacks", "failed calls")
    rows = [next(i for i, x in enumerate(lines) if x.startswith(f"│ {label} ")) for label in labels]
    assert rows == list(range(rows[0], rows[0] + 4))  # side by side, in that order
    keys = ("fallback_rate", "abandoned_rate", "fallback_abandoned_ratio", "failed_rate")
    for row, key in zip(rows, keys, strict=True):
        assert f" {share(summary[key])} │" in lines[row]
    # ticket-triage's teacher (median 0.9 s) behind the student never answers within 0.5 s
    assert summary["fallback_abandoned_ratio"] > 0.9
    assert "warning: Your deadline turns the fallback off" in result.stdout


def test_a_negative_excess_error_is_explained_in_the_run_output(tmp_path):
    """ticket-triage's cascade beats the teacher alone on its calls: the note says why."""
    out = tmp_path / "run"
    result = run("--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["excess_error_rate"] < 0
    assert summary["excess_error_note"].startswith("Excess error is negative")
    assert "note: Excess error is negative" in result.stdout
    assert "error_correlation = 0" in " ".join(result.stdout.split())
