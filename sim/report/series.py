"""The data each figure plots, as polars frames: pure functions of a run's files, so tests compare
the plotted series with the timeseries and events they come from."""

from __future__ import annotations

from typing import Any

import polars as pl

from sim.clock import DAY_S


def cost_series(timeseries: pl.DataFrame, tick_s: float, horizon_days: float) -> pl.DataFrame:
    """Cumulative distill-and-route and teacher-only cost at each tick's end (mean over
    replications): columns day, distill_usd, teacher_only_usd."""
    return (
        timeseries.group_by("tick")
        .agg(
            pl.col("time_s").first(),
            pl.col("cumulative_cost_usd").mean().alias("distill_usd"),
            pl.col("cumulative_teacher_only_usd").mean().alias("teacher_only_usd"),
        )
        .sort("tick")
        .select(
            ((pl.col("time_s") + tick_s) / DAY_S).clip(upper_bound=horizon_days).alias("day"),
            "distill_usd",
            "teacher_only_usd",
        )
    )


def daily_rates(timeseries: pl.DataFrame) -> pl.DataFrame:
    """Fallback and silent-failure rates per day (a tick belongs to the day it starts in): each
    replication's calls-weighted daily share, then the mean over replications. Columns day (the
    day's index, 0 = the first day), fallback_rate, silent_failure_rate."""
    rates = ("fallback_rate", "silent_failure_rate")
    per_replication = (
        timeseries.with_columns((pl.col("time_s") // DAY_S).cast(pl.Int64).alias("day"))
        .group_by("replication", "day")
        .agg(
            *(((pl.col(r) * pl.col("calls")).sum() / pl.col("calls").sum()).alias(r) for r in rates)
        )
    )
    return per_replication.group_by("day").agg(pl.col(r).mean() for r in rates).sort("day")


def latency_series(timeseries: pl.DataFrame) -> pl.DataFrame:
    """The p99 latency of each tick (mean over replications; null for a tick without calls):
    columns day (tick start), latency_p99_s."""
    return (
        timeseries.group_by("tick")
        .agg(pl.col("time_s").first(), pl.col("latency_p99_s").mean())
        .sort("tick")
        .select((pl.col("time_s") / DAY_S).alias("day"), "latency_p99_s")
    )


MARK_SCHEMA = {
    "kind": pl.String,
    "start_day": pl.Float64,
    "end_day": pl.Float64,
    "detail": pl.String,
}


def event_marks(events: pl.DataFrame, horizon_days: float) -> pl.DataFrame:
    """The lowest-numbered replication's events as marks: columns kind (drift, alert, retraining,
    outage), start_day, end_day (equal to start_day for an instant; the horizon for something
    still under way), detail. A drift's end pairs with its start by its drift[i] label, a
    retraining's by the student version, an outage's with the next end."""
    if events.height == 0:
        return pl.DataFrame(schema=MARK_SCHEMA)
    first = events["replication"].min()
    rows = events.filter(pl.col("replication") == first).sort("time_s", maintain_order=True)
    marks: list[tuple[str, float, float, str]] = []
    open_marks: dict[tuple[str, str], int] = {}
    for row in rows.iter_rows(named=True):
        kind, detail, day = row["kind"], row["detail"], row["time_s"] / DAY_S
        family, _, phase = kind.partition("_")
        key = (family, _pairing_key(family, detail))
        if phase == "end":
            if key in open_marks:
                index = open_marks.pop(key)
                k, start, _end, what = marks[index]
                marks[index] = (k, start, day, what)
            continue
        marks.append((family, day, day, detail))
        if phase == "start":
            open_marks[key] = len(marks) - 1
    # A retraining or an outage still under way lasts to the horizon; a drift without a ramp
    # has no end and stays an instant.
    for index in open_marks.values():
        k, start, _end, what = marks[index]
        if k != "drift":
            marks[index] = (k, start, horizon_days, what)
    return pl.DataFrame(marks, schema=MARK_SCHEMA, orient="row")


def _pairing_key(family: str, detail: str) -> str:
    """What ties an event's end to its start within its family."""
    if family == "drift":
        return detail.partition(":")[0]  # "drift[0]: mix" starts what "drift[0]" ends
    if family == "retraining":
        return detail.split()[1] if len(detail.split()) > 1 else detail  # "student v2 ..."
    return ""


def frontier_points(compare: pl.DataFrame) -> pl.DataFrame:
    """compare.parquet's cost per call and silent-failure rate per variant, with a label (the
    policy and the grid point, each field without its table: threshold=0.9) and whether it is on
    the Pareto frontier (not dominated on cost, silent failures and p99)."""
    short_point = pl.col("point").str.replace_all(r"(^|, )[A-Za-z_]+\.", "${1}")
    return compare.select(
        pl.concat_str(
            pl.col("policy"),
            pl.when(pl.col("point") != "").then(pl.lit(" ") + short_point).otherwise(pl.lit("")),
        ).alias("label"),
        "policy",
        "cost_per_call_usd",
        "silent_failure_rate",
        "latency_p99_s",
        (~pl.col("dominated")).alias("frontier"),
    )


def teacher_error(summary: dict[str, Any]) -> float | None:
    """The error rate the teacher alone would have had on the same calls: error minus excess."""
    error, excess = summary.get("error_rate"), summary.get("excess_error_rate")
    if error is None or excess is None:
        return None
    return float(error) - float(excess)


POLICY_METRICS = (
    "cost_per_call_usd", "savings_ratio", "fallback_rate", "abandoned_rate", "failed_rate",
    "error_rate", "silent_failure_rate", "latency_p99_s", "slo_attainment",
)  # fmt: skip


def policy_rows(summaries: list[dict[str, Any]]) -> pl.DataFrame:
    """One row per compared variant (one per policy without a grid), in compare's order: the
    policy, its point (grid values and the policy's own settings), the metrics the report
    shows, whether it is on the Pareto frontier, and the verdict with its reason (null where the
    summary has none)."""
    rows = []
    for s in summaries:
        point = {k: v for k, v in (s.get("variant") or {}).items() if k != "policy"}
        rows.append(
            {
                "policy": str(s.get("policy")),
                "point": ", ".join(
                    f"{k}={v:.10g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in point.items()
                ),  # fmt: skip
                **{m: s.get(m) for m in POLICY_METRICS},
                "frontier": not s.get("dominated", False),
                "verdict": s.get("verdict"),
                "verdict_reason": s.get("verdict_reason"),
            }
        )
    schema = {"policy": pl.String, "point": pl.String,
              **dict.fromkeys(POLICY_METRICS, pl.Float64), "frontier": pl.Boolean,
              "verdict": pl.String, "verdict_reason": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)
