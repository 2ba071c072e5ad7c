"""From per-tick aggregates to the timeseries, the summary and its confidence intervals (polars)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from sim.analysis import deadline, decision, economics, extremes, failure_cost, monitoring, verdict
from sim.engine.aggregates import Aggregates
from sim.engine.kernels import layout
from sim.engine.kernels.histogram import OVERFLOW, histogram_quantile
from sim.engine.kernels.layout import COUNTS, VALUES
from sim.scenario.models import Scenario

RATE_METRICS = (
    "fallback_rate",
    "error_rate",
    "silent_failure_rate",
    "excess_error_rate",
    "secondary_silent_failure_rate",
)
SCALAR_METRICS = (
    "calls",
    *RATE_METRICS,
    "eval_error_rate",
    "latency_mean_s",
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "latency_max_s",
    "latency_overflow_share",
    "first_answer_p99_s",
    "slo_attainment",
    "queue_wait_mean_s",
    "student_utilization",
    "student_backlog_s",
    "override_rate",
    "failed_rate",
    "cost_per_call_usd",
    "teacher_only_cost_usd",
    "savings_usd",
    "savings_ratio",
    "break_even_day",
    "risk_adjusted_total_usd",
    "teacher_only_risk_adjusted_usd",
    "risk_adjusted_savings_usd",
    "risk_adjusted_break_even_day",
    "alerts",
    "retrains",
    "observed_error_rate",
    "flag_rate",
    "bypass_rate",
    "abandoned_rate",
    "fallback_abandoned_ratio",
    "teacher_unavailable_rate",
    "human_review_rate",
    "teacher_call_rate",
    "teacher_wait_mean_s",
    "human_wait_mean_s",
    "kernel_clamped",
)


# verifier.checks_teacher's figures: in the summary only when the verifier checks the teacher
TEACHER_CHECK_METRICS = ("teacher_check_rate", "teacher_flag_rate")
INTEGER_METRICS = ("calls", "alerts", "retrains", "kernel_clamped")
# the kernels' counters and sums the timeseries carries, by their layout names (in column order)
TICK_COUNTS = ("student_calls", "fallbacks", "errors", "silent_failures", "teacher_errors",
               "failed", "overrides", "slo_met", "flags", "bypasses", "abandoned",
               "teacher_unavailable", "human_reviews", "teacher_checks",
               "teacher_flags")  # fmt: skip
TICK_VALUES = ("answered", "teacher_calls", "wait_sum_s", "teacher_wait_sum_s", "human_wait_sum_s",
               "latency_sum_s", "busy_s")  # fmt: skip


def tick_frame(scenario: Scenario, aggs: list[Aggregates]) -> pl.DataFrame:
    """One row per replication and tick with the raw counts, sums and cost terms."""
    frames = []
    for r, agg in enumerate(aggs):
        counts = agg.counts.sum(axis=1)
        costs = economics.tick_costs(scenario, agg)
        columns: dict[str, Any] = {
            "replication": np.full(agg.ticks, r, dtype=np.int64),
            "tick": np.arange(agg.ticks, dtype=np.int64),
            "time_s": agg.tick_start_s,
            "tick_length_s": agg.tick_length_s,
            "calls": counts[:, layout.CALLS].astype(np.int64),
            **COUNTS.columns(counts, TICK_COUNTS),
            **VALUES.columns(agg.values, TICK_VALUES),
            "latency_p99_s": agg.latency_p99_s,
            "student_version": agg.student_version,
            "monitored_rate": agg.monitor_rate,
            **COUNTS.columns(counts, ("audited", "audited_errors")),
            "secondary_silent": (
                agg.secondary_silent.mean(axis=1)
                if agg.secondary_silent.shape[1]
                else np.zeros(agg.ticks)
            ),
            **costs,
            **failure_cost.tick_failure_costs(scenario, agg),
        }
        frames.append(pl.DataFrame(columns))
    return pl.concat(frames)


def replication_totals(raw: pl.DataFrame, replications: int) -> list[dict[str, Any]]:
    """Each replication's column sums over its ticks, in tick order.

    Summed by numpy, never by a polars group_by: polars splits a group's float sum across its
    threads in an order that varies from run to run (pola-rs/polars#25202, #6157), which changed
    the last digits of cost terms between runs of one seed. numpy sums one contiguous column in a
    fixed (pairwise) order, so the totals are the same bytes whatever POLARS_MAX_THREADS is.
    """
    out = []
    for r in range(replications):
        part = raw.filter(pl.col("replication") == r).sort("tick")
        row: dict[str, Any] = {"replication": r}
        for name in part.columns:
            if name in ("replication", "tick"):
                continue
            column = part[name].to_numpy()
            total = np.sum(column)
            row[name] = int(total) if np.issubdtype(column.dtype, np.integer) else float(total)
        out.append(row)
    return out


def _share(numerator: str, denominator: str = "calls") -> pl.Expr:
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator) / pl.col(denominator))
        .otherwise(None)
    )


def _cumulative(raw: pl.DataFrame, column: str) -> pl.Series:
    """A column's running sum within each replication, summed by numpy in row order (raw rows are
    grouped by replication, ticks ascending), so it does not depend on polars' threads."""
    values = raw[column].to_numpy()
    replication = raw["replication"].to_numpy()
    out = np.empty_like(values, dtype=float)
    for r in np.unique(replication):
        rows = np.flatnonzero(replication == r)
        out[rows] = np.cumsum(values[rows])
    return pl.Series(column, out)


def _cumulative_sum(raw: pl.DataFrame, cost: str, failures: str) -> pl.Series:
    """A cost plus its priced failures, summed per tick and then cumulated like `_cumulative`."""
    both = raw.select((pl.col(cost) + pl.col(failures)).alias(cost), "replication")
    return _cumulative(both, cost)


def timeseries(raw: pl.DataFrame) -> pl.DataFrame:
    """The published timeseries: rates per tick, cost per tick and cumulative costs.

    Routing counts (fallbacks, flags) are made when a call arrives, so their rates are shares of
    the tick's arrivals. Outcomes (errors, silent failures, failures, overrides) are counted when
    the call settles, which for a call waiting on a rate-limited teacher or a reviewer can be a
    later tick: their rates are shares of the calls settled in the tick (answered or failed), or
    a tick could show more errors than calls.
    """
    settled = pl.col("answered") + pl.col("failed")
    return (
        raw.with_columns(settled.alias("settled"))
        .with_columns(
            _share("fallbacks").alias("fallback_rate"),
            _share("errors", "settled").alias("error_rate"),
            _share("silent_failures", "settled").alias("silent_failure_rate"),
            _share("failed", "settled").alias("failed_rate"),
            _share("overrides", "settled").alias("override_rate"),
            _share("flags").alias("flag_rate"),
            _share("secondary_silent", "settled").alias("secondary_silent_failure_rate"),
            pl.col("monitored_rate").fill_nan(None),
            _share("wait_sum_s", "student_calls").alias("queue_wait_mean_s"),
            pl.col("total_usd").alias("cost_usd"),
            _cumulative(raw, "total_usd").alias("cumulative_cost_usd"),
            _cumulative(raw, "teacher_only_usd").alias("cumulative_teacher_only_usd"),
            _cumulative_sum(raw, "total_usd", "failure_usd").alias(
                "cumulative_risk_adjusted_cost_usd"
            ),
            _cumulative_sum(raw, "teacher_only_usd", "teacher_only_failure_usd").alias(
                "cumulative_teacher_only_risk_adjusted_usd"
            ),
            pl.col("latency_p99_s").fill_nan(None),
        )
        .select(
            "replication",
            "tick",
            "time_s",
            "calls",
            "fallback_rate",
            "error_rate",
            "silent_failure_rate",
            "cost_usd",
            "latency_p99_s",
            "student_version",
            "failed_rate",
            "override_rate",
            "flag_rate",
            "secondary_silent_failure_rate",
            "monitored_rate",
            "queue_wait_mean_s",
            *economics.COST_TERMS,
            "teacher_only_usd",
            "cumulative_cost_usd",
            "cumulative_teacher_only_usd",
            "failure_usd",
            "teacher_only_failure_usd",
            "cumulative_risk_adjusted_cost_usd",
            "cumulative_teacher_only_risk_adjusted_usd",
        )
    )


def _latencies(row: dict, agg: Aggregates) -> dict[str, float]:
    """A replication's latency statistics, from its histograms and largest latencies."""
    hist = agg.histogram
    answered = row["answered"]
    # a quantile beyond the histogram's top is the largest latency (an upper bound; a warning
    # and latency_overflow_share say so), never the top edge
    top = float(agg.values[:, layout.LATENCY_MAX].max(initial=0.0))
    first_top = float(agg.values[:, layout.FIRST_MAX].max(initial=0.0))
    quantiles = {q: float(histogram_quantile(hist, q, top)) for q in (0.5, 0.95, 0.99)}
    return {
        "latency_mean_s": row["latency_sum_s"] / answered if answered else math.nan,
        "latency_p50_s": quantiles[0.5],
        "latency_p95_s": quantiles[0.95],
        "latency_p99_s": quantiles[0.99],
        "latency_max_s": top if answered else math.nan,
        "latency_overflow_share": (float(hist[OVERFLOW]) / answered if answered else math.nan),
        "first_answer_p99_s": float(histogram_quantile(agg.first_histogram, 0.99, first_top)),
    }


def _costs(scenario: Scenario, raw: pl.DataFrame, row: dict) -> dict[str, Any]:
    """A replication's cost, per call, against the teacher alone, and its break-even day."""
    calls = row["calls"]
    cost = {name: row[name] for name in economics.COST_TERMS}
    cost["total_usd"] = row["total_usd"]
    cost["failure_usd"] = row["failure_usd"]
    teacher_only = row["teacher_only_usd"]
    series = raw.filter(pl.col("replication") == row["replication"]).sort("tick")
    end_s = np.append(series["time_s"].to_numpy(), scenario.horizon_s)
    return {
        **failure_cost.risk_adjusted(row, series, end_s),
        "cost": cost,
        "cost_per_call_usd": cost["total_usd"] / calls if calls > 0 else math.nan,
        "teacher_only_cost_usd": teacher_only,
        "savings_usd": teacher_only - cost["total_usd"],
        "savings_ratio": (
            (teacher_only - cost["total_usd"]) / teacher_only if teacher_only else None
        ),
        "break_even_day": economics.break_even_day(
            np.cumsum(series["total_usd"].to_numpy()),
            np.cumsum(series["teacher_only_usd"].to_numpy()),
            end_s,
        ),
    }


def per_replication(scenario: Scenario, raw: pl.DataFrame, aggs: list[Aggregates]) -> list[dict]:
    """One summary dict per replication, from the tick frame and the kernels' aggregates."""
    totals = replication_totals(raw, len(aggs))
    slots = scenario.student.servers * scenario.student.concurrency
    eval_error = economics.eval_error_rate(scenario)
    rows = []
    for row, agg in zip(totals, aggs, strict=True):
        calls = row["calls"]

        def rate(x: float, calls: float = calls) -> float:
            return x / calls if calls > 0 else math.nan

        rows.append(
            {
                "calls": calls,
                "fallback_rate": rate(row["fallbacks"]),
                "error_rate": rate(row["errors"]),
                "silent_failure_rate": rate(row["silent_failures"]),
                "excess_error_rate": rate(row["errors"] - row["teacher_errors"]),
                "secondary_silent_failure_rate": rate(row["secondary_silent"]),
                "eval_error_rate": eval_error,
                **_latencies(row, agg),
                "slo_attainment": rate(row["slo_met"]) if scenario.router.deadline_s > 0 else None,
                "queue_wait_mean_s": (
                    row["wait_sum_s"] / row["student_calls"] if row["student_calls"] else 0.0
                ),
                # busy time inside the horizon over capacity time: at most 1 but for rounding
                "student_utilization": min(1.0, row["busy_s"] / (slots * scenario.horizon_s)),
                "student_backlog_s": agg.student_backlog_s,
                "override_rate": rate(row["overrides"]),
                "failed_rate": rate(row["failed"]),
                **_costs(scenario, raw, row),
                "alerts": agg.alerts,
                "retrains": agg.retrains,
                "observed_error_rate": (
                    row["audited_errors"] / row["audited"] if row["audited"] else None
                ),
                "flag_rate": rate(row["flags"]),
                "bypass_rate": rate(row["bypasses"]),
                "abandoned_rate": rate(row["abandoned"]),
                "fallback_abandoned_ratio": deadline.abandoned_ratio(
                    scenario.router.policy, row["abandoned"], row["fallbacks"], calls
                ),
                "teacher_unavailable_rate": rate(row["teacher_unavailable"]),
                "human_review_rate": rate(row["human_reviews"]),
                "teacher_check_rate": rate(row["teacher_checks"]),
                "teacher_flag_rate": rate(row["teacher_flags"]),
                "teacher_call_rate": rate(row["teacher_calls"]),
                "teacher_wait_mean_s": _ratio(row["teacher_wait_sum_s"], row["teacher_calls"]),
                "human_wait_mean_s": _ratio(row["human_wait_sum_s"], row["human_reviews"]),
                "kernel_clamped": agg.kernel_clamped,
            }
        )
    return rows


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _clean(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _cleaned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    return _clean(value)


def mean_and_ci(values: list[Any]) -> tuple[Any, list[float] | None]:
    """The mean and its 95% t-interval (None when any value is missing; no interval for one)."""
    if any(v is None or (isinstance(v, float) and not math.isfinite(v)) for v in values):
        return None, None
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, None
    half = float(stats.t.ppf(0.975, arr.size - 1) * arr.std(ddof=1) / math.sqrt(arr.size))
    return mean, [mean - half, mean + half]


def segment_table(scenario: Scenario, aggs: list[Aggregates]) -> dict[str, dict[str, float]]:
    """Per-segment calls (mean per replication) and rates (pooled over replications)."""
    counts = np.sum([agg.counts.sum(axis=0) for agg in aggs], axis=0)
    out = {}
    for i, seg in enumerate(scenario.segments):
        calls = counts[i, layout.CALLS]

        def share(x: float, calls: float = calls) -> float | None:
            return _clean(x / calls) if calls else None

        out[seg.name] = {
            "calls": _clean(calls / len(aggs)),
            "fallback_rate": share(counts[i, layout.FALLBACKS]),
            "error_rate": share(counts[i, layout.ERRORS]),
            "silent_failure_rate": share(counts[i, layout.SILENT]),
            "failed_rate": share(counts[i, layout.FAILED]),
        }
    return out


def secondary_table(scenario: Scenario, aggs: list[Aggregates]) -> dict[str, float | None]:
    """Per secondary output: the share of calls whose bad student output was accepted."""
    calls = sum(float(agg.counts[:, :, layout.CALLS].sum()) for agg in aggs)
    out = {}
    for j, output in enumerate(scenario.secondary):
        silent = sum(float(agg.secondary_silent[:, j].sum()) for agg in aggs)
        out[output.name] = _clean(silent / calls) if calls else None
    return out


def observed_error_interval(aggs: list[Aggregates]) -> list[float] | None:
    """A Wilson 95% interval of the error rate audits show (pooled over replications)."""
    audited = sum(float(agg.counts[:, :, layout.AUDITED].sum()) for agg in aggs)
    if audited == 0:
        return None
    errors = sum(float(agg.counts[:, :, layout.AUDITED_ERRORS].sum()) for agg in aggs)
    z = float(stats.norm.ppf(0.975))
    p = errors / audited
    centre = (p + z * z / (2 * audited)) / (1 + z * z / audited)
    half = z * math.sqrt(p * (1 - p) / audited + z * z / (4 * audited**2)) / (1 + z * z / audited)
    # the Wilson bounds lie in [0, 1]; clamp only the rounding (1.0000000000000002 at p = 1)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def summarize(
    scenario: Scenario, seed: int, aggs: list[Aggregates], raw: pl.DataFrame | None = None
) -> dict[str, Any]:
    """The summary contract of DESIGN.md: means over replications, with 95% CIs when R ≥ 2."""
    raw = tick_frame(scenario, aggs) if raw is None else raw
    reps = per_replication(scenario, raw, aggs)
    summary: dict[str, Any] = {
        "scenario": scenario.scenario.name,
        "policy": scenario.router.policy,
        "seed": seed,
        "replications": len(aggs),
        "horizon_days": scenario.scenario.horizon_days,
    }
    ci: dict[str, list[float]] = {}
    checks = scenario.verifier is not None and scenario.verifier.checks_teacher
    for name in (*SCALAR_METRICS, *(TEACHER_CHECK_METRICS if checks else ())):
        mean, interval = mean_and_ci([r[name] for r in reps])
        summary[name] = _clean(mean)
        if name in INTEGER_METRICS and len(aggs) == 1 and mean is not None:
            summary[name] = int(mean)
        if interval is not None:
            ci[name] = interval
    cost = {}
    for name in (*economics.COST_TERMS, "total_usd", "failure_usd"):
        mean, interval = mean_and_ci([r["cost"][name] for r in reps])
        cost[name] = _clean(mean)
        if interval is not None:
            ci[f"cost.{name}"] = interval
    summary["cost"] = cost
    totals = np.mean([agg.counts.sum(axis=0) for agg in aggs], axis=0)  # per segment, per rep
    summary["planned"] = _cleaned(
        verdict.planned_vs_realized(
            scenario, summary, totals[:, layout.CALLS], totals[:, layout.STUDENT_ERRORS]
        )
    )
    summary["segments"] = segment_table(scenario, aggs)
    summary["secondary"] = secondary_table(scenario, aggs)
    summary["observed_error_ci95"] = observed_error_interval(aggs)
    summary["ci95"] = ci if len(aggs) >= 2 else {}
    note = extremes.excess_error_note(scenario, summary)
    if note is not None:  # an explanation, not a warning: present only when excess error < 0
        summary["excess_error_note"] = note
    summary["warnings"] = [  # a careless input first: it explains the rest
        *extremes.warnings(scenario, summary),
        *deadline.warnings(scenario, summary),
        *verdict.warnings(scenario, summary, timeseries(raw)),
        *monitoring.warnings(scenario, [agg.events for agg in aggs]),
    ]
    decided = decision.for_summary(summary, scenario)
    summary["verdict"], summary["verdict_reason"] = decided.verdict, decided.reason
    return summary
