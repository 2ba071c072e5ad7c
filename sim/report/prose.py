"""The report's words: the verdict, the setup line, the key numbers and the figure captions.

Plain text, no HTML: a phrase to stress is wrapped in **double stars**, which the page turns into
bold after escaping. Policies are told apart by their traits in `sim.scenario.policies`, never by
name, so a
new policy reads right without an edit here.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from sim.analysis import deadline, decision
from sim.formatting import count, days, for_metric, metric_band, money, seconds, share
from sim.report.loading import Run
from sim.report.series import teacher_error
from sim.scenario.policies import BY_NAME, Policy

COST_LABELS = {
    "student_gpu_usd": "student GPUs (busy or idle)",
    "teacher_usd": "teacher API calls",
    "verifier_usd": "verifier",
    "human_usd": "human review",
    "fixed_usd": "dataset, training, upkeep",
    "retraining_usd": "retraining",
    "audit_usd": "audits (labelled calls)",
}
RISK_ADJUSTED = (  # shown after the plain figures when failures are priced
    ("priced failures (wrong answers, failed calls)", "cost.failure_usd"),
    ("total, risk-adjusted", "risk_adjusted_total_usd"),
    ("teacher only, risk-adjusted", "teacher_only_risk_adjusted_usd"),
    ("savings, risk-adjusted", "risk_adjusted_savings_usd"),
    ("break-even day, risk-adjusted", "risk_adjusted_break_even_day"),
)
Row = tuple[str, str, str]  # label, value, 95% interval ("" without one)


def _policy(name: Any) -> Policy | None:
    """The declared policy of that name (None for a summary naming none we know)."""
    return BY_NAME.get(str(name))


def _is_baseline(policy: Policy | None) -> bool:
    """The teacher-only baseline: no student to pay off."""
    return policy is not None and not policy.uses_student


def times(n: float, one: str, many: str) -> str:
    """n things in words: "no alerts", "1 alert", "twice", "2.5 alerts (mean over replications)"."""
    n_int = round(n)
    if not math.isclose(n, n_int):
        return f"{n:.1f} {many} (mean over replications)"
    if one == "time" and n_int in (1, 2):
        return ("once", "twice")[n_int - 1]
    return f"{'no' if n_int == 0 else count(n_int)} {one if n_int == 1 else many}"


def decided(run: Run) -> decision.Decision:
    """The run's one verdict: the one its summary.json carries, or (a summary written before
    verdicts) the same rules applied to its summary and scenario table."""
    s, sc = run.summary, run.scenario
    stored = decision.stored(s)
    if stored is not None:
        return stored
    verifier = sc.get("verifier") or {}
    return decision.from_parts(
        s,
        str(s.get("policy") or sc.get("router", {}).get("policy")),
        (sc.get("economics") or {}).get("max_silent_failure_rate"),
        verifier.get("blind_spot_correlation", 0.0) if verifier else None,
    )


def verdict(run: Run) -> tuple[str, str]:
    """The verdict word (`sim.analysis.decision`) and a plain-language paragraph saying so: the
    sentence that decided it first, then the numbers behind it."""
    s = run.summary
    policy = _policy(s.get("policy"))
    decision_ = decided(run)
    if _is_baseline(policy):
        parts = [
            f"This run is the teacher-only baseline: every call goes to the teacher API, costing "
            f"{money(s['cost']['total_usd'])} over the {run.horizon_days:g}-day horizon. There is "
            f"no student to pay off.{deadline_clause(run)}"
        ]
    else:
        parts = [
            f"**{decision_.reason}**",
            _money_sentence(run),
            _break_even_sentence(s),
            routing_sentence(run),
        ]
    parts += _quality_sentences(
        s, policy, deadline.returned_student(run.summary, run.scenario.get("router", {}))
    )
    return decision_.verdict, " ".join(parts)


def _money_sentence(run: Run) -> str:
    """What distilling cost against the teacher alone, and the difference."""
    s = run.summary
    cost, teacher_only = s["cost"]["total_usd"], s["teacher_only_cost_usd"]
    savings = s.get("savings_usd") or 0.0
    what = f"Distilling into a student and routing with the **{s.get('policy', '')}** policy"
    horizon = f"{run.horizon_days:g}-day horizon"
    if savings > 0:
        return (
            f"{what} costs {money(cost)} over the {horizon} against {money(teacher_only)} for "
            f"sending every call to the teacher, saving {money(savings)} "
            f"({share(s.get('savings_ratio'))} of the teacher-only bill)."
        )
    return (
        f"{what} costs {money(cost)} over the {horizon} against {money(teacher_only)} for "
        f"sending every call to the teacher, {money(-savings)} more."
    )


def _break_even_sentence(s: dict[str, Any]) -> str:
    """When the cumulative cost crossed below the teacher's, if it did: the simulated day (the
    risk-adjusted one when the summary has it), the one every command quotes."""
    even = decision.break_even_of(s)
    if even.day is not None:
        return (
            f"It breaks even on **day {days(even.day)}** ({even.name}): from then on its "
            f"cumulative cost stays at or below the teacher-only cost."
        )
    if (decision.money_of(s).savings_usd or 0.0) > 0:  # a mean over replications
        return "In at least one replication it does not break even within the horizon."
    return "It **never breaks even within the horizon**."


def routing_sentence(run: Run) -> str:
    """What the router did, in the policy's own terms."""
    s = run.summary
    policy = _policy(s.get("policy"))
    if policy is not None and policy.teacher_answers_all:
        return (
            f"The teacher ran on every call beside the student and overrode the student's first "
            f"answer on {share(s.get('override_rate'))} of calls."
        )
    if policy is not None and not policy.escalates:
        return "No call fell back: the student answered everything."
    human = (s.get("human_review_rate") or 0) > 0
    where = "went to human review" if human else "fell back to the teacher"
    if (s.get("abandoned_rate") or 0.0) > 0:
        where = "were sent to a person" if human else "were sent on to the teacher"
    return f"{share(s.get('fallback_rate'))} of calls {where}." + deadline_clause(run)


def deadline_clause(run: Run) -> str:
    """What the deadline did to the fallbacks (or the teacher's answers), when it abandoned any:
    a fallback abandoned did not answer, whatever the fallback rate says."""
    s, router = run.summary, run.scenario.get("router", {})
    abandoned, ratio = s.get("abandoned_rate") or 0.0, s.get("fallback_abandoned_ratio")
    if abandoned <= 0:
        return ""
    policy = _policy(s.get("policy"))
    limit = router.get("deadline_s")
    at = f"the {seconds(limit)} deadline" if limit else "the deadline"
    got = deadline.instead(router, s.get("policy"))
    if policy is not None and policy.teacher_answers_all:
        of = f" ({share(ratio)} of the teacher's answers)" if ratio is not None else ""
        return f" On {share(abandoned)} of calls{of} the teacher missed {at}: the call {got}."
    whole = f" ({share(ratio)} of the fallbacks)" if ratio is not None else ""
    return (
        f" Of those, **{share(abandoned)} of calls{whole} were abandoned at {at}** and {got}: "
        f"the fallback answered only {share(max(0.0, (s.get('fallback_rate') or 0.0) - abandoned))}"
        f" of calls."
    )


def _quality_sentences(
    s: dict[str, Any], policy: Policy | None, returned_at_deadline: bool = False
) -> list[str]:
    """Silent failures against the teacher's own errors, secondary outputs, monitoring."""
    parts = []
    silent, teacher = s.get("silent_failure_rate"), teacher_error(s)
    if not _is_baseline(policy) and silent is not None:
        what = (
            "a wrong student answer returned as a normal answer, here including calls sent to "
            "the teacher whose fallback the deadline abandoned"
            if returned_at_deadline
            else "a wrong student answer returned with nothing flagging it"
        )
        sentence = (
            f"Silent failures — {what} — hit "
            f"**{share(silent)}** of calls (about {count(round(10_000 * silent))} in 10,000)"
        )
        if teacher is not None:
            relation = "below" if silent < teacher else "above"
            sentence += (
                f", {relation} the {share(teacher)} the teacher alone would have got wrong on the "
                f"same calls"
            )
        parts.append(sentence + f"; in all {share(s.get('error_rate'))} of answers were wrong.")
    secondary = s.get("secondary_silent_failure_rate") or 0.0
    if secondary > 0:
        parts.append(
            f"Outputs nobody routes on (secondary outputs) failed silently on {share(secondary)} "
            f"of calls."
        )
    alerts, retrains = s.get("alerts") or 0, s.get("retrains") or 0
    if alerts or retrains:
        retraining_usd = s["cost"].get("retraining_usd") or 0.0
        paid = f" (costing {money(retraining_usd)})" if retraining_usd else ""
        retrained = (
            f"the student was retrained {times(retrains, 'time', 'times')}{paid}"
            if retrains
            else "the student was not retrained"
        )
        parts.append(f"Monitoring raised {times(alerts, 'alert', 'alerts')} and {retrained}.")
    elif not _is_baseline(policy):
        parts.append("Monitoring raised no alert and the student was never retrained.")
    return parts


def setup_line(run: Run) -> str:
    """One sentence on what was simulated, for a reader who never opened the scenario file."""
    sc, s = run.scenario, run.summary
    traffic, router = sc.get("traffic", {}), sc.get("router", {})
    student, teacher = sc.get("student", {}), sc.get("teacher", {})
    bits = [f"{count(s.get('calls', 0))} calls over {run.horizon_days:g} days"]
    if traffic.get("calls_per_day"):
        bits[0] += f" (about {count(round(traffic['calls_per_day']))} a day)"
    name = router.get("policy", s.get("policy"))
    policy = _policy(name)
    routing = f"routed by **{name}**"
    if policy is not None and policy.escalates and router.get("threshold") is not None:
        routing += f" at confidence threshold {router['threshold']:g}"
    bits.append(routing)
    segments = sc.get("segments", [])
    if segments:
        total = sum(seg.get("weight", 0) for seg in segments) or 1.0
        mix = ", ".join(
            f"{seg['name']} {100 * seg.get('weight', 0) / total:.0f}%" for seg in segments
        )
        bits.append(f"input mix at day 0: {mix}")
    if student and not _is_baseline(policy):
        bits.append(
            f"student on {student.get('servers', 1)} GPU server(s) × "
            f"{student.get('concurrency', 1)} slots at "
            f"{money(student.get('gpu_hour_usd', 0))}/hour"
        )
    if teacher:
        bits.append(
            f"teacher at {money(teacher.get('input_usd_per_mtok', 0))} / "
            f"{money(teacher.get('output_usd_per_mtok', 0))} per million tokens in / out"
        )
    return "; ".join(bits) + "."


def _row(summary: dict[str, Any], label: str, key: str) -> Row:
    """A metric's row: its value and 95% interval, each printed by the metric's formatter."""
    band = (summary.get("ci95") or {}).get(key)
    value = summary["cost"].get(key.removeprefix("cost.")) if key.startswith("cost.") else None
    value = summary.get(key) if value is None else value
    never = key.endswith("break_even_day") and value is None
    shown = "never" if never else for_metric(key)(value, 0)
    return (label, shown, metric_band(key, *band) if band else "")


def key_numbers(summary: dict[str, Any]) -> dict[str, list[Row]]:
    """The key numbers by theme: (label, value, 95% interval or '') rows."""
    cost = summary["cost"]
    money_rows = [
        _row(summary, label, f"cost.{t}") for t, label in COST_LABELS.items() if cost.get(t)
    ]
    money_rows += [
        _row(summary, label, key)
        for label, key in (
            ("total (distill and route)", "cost.total_usd"),
            ("teacher only", "teacher_only_cost_usd"),
            ("savings", "savings_usd"),
            ("savings ratio", "savings_ratio"),
            ("cost per call", "cost_per_call_usd"),
            ("break-even day (simulated)", "break_even_day"),
        )
    ]
    if decision.failures_priced(summary):
        money_rows += [_row(summary, label, key) for label, key in RISK_ADJUSTED]
    quality = [
        _row(summary, label, key)
        for label, key in (
            ("fallback rate", "fallback_rate"),
            ("abandoned at the deadline", "abandoned_rate"),
            ("failed calls", "failed_rate"),
            ("silent failure rate", "silent_failure_rate"),
            ("error rate", "error_rate"),
            ("excess error vs teacher", "excess_error_rate"),
            ("offline eval error", "eval_error_rate"),
            ("error seen by audits", "observed_error_rate"),
            ("secondary silent failures", "secondary_silent_failure_rate"),
            ("alerts", "alerts"),
            ("retrainings", "retrains"),
        )
    ]
    quality.insert(4, ("teacher's own error rate", share(teacher_error(summary)), ""))
    latency = [
        _row(summary, label, key)
        for label, key in (
            ("p50", "latency_p50_s"),
            ("p95", "latency_p95_s"),
            ("p99", "latency_p99_s"),
            ("first answer p99", "first_answer_p99_s"),
            ("mean", "latency_mean_s"),
            ("SLO attainment", "slo_attainment"),
            ("student queue wait (mean)", "queue_wait_mean_s"),
            ("student GPU utilization", "student_utilization"),
        )
    ]
    return {"Money": money_rows, "Quality": quality, "Latency": latency}


def captions(run: Run) -> dict[str, str]:
    """Each figure's caption by file name: a bold question, then how to read the figure."""
    reps = run.replications
    mean = f" (mean over {reps} replications)" if reps > 1 else ""
    events_of = " Events are those of replication 0." if reps > 1 else ""
    retrained = bool(run.events.filter(pl.col("kind") == "retraining_start").height)
    tick = run.tick_name
    even = run.summary.get("break_even_day") is not None
    return {
        "report-cost.png": (
            f"**Does it pay, and when?** Cumulative cost of distill-and-route (GPUs, teacher "
            f"fallbacks, dataset and training on day 0, maintenance, retraining, audits) against "
            f"sending every call to the teacher{mean}, at the end of each {tick}. "
            + (
                "The dashed green line is the break-even day."
                if even
                else "The curves do not cross for good within the horizon."
            )
            + (" Blue lines: retrainings paid." if retrained else "")
            + events_of
        ),
        "report-rates.png": (
            f"**Quality over time.** Daily fallback rate (top) and silent-failure rate (bottom)"
            f"{mean}: each day's share of its calls. Shaded yellow: an input-drift ramp; dashed "
            f"red: a monitoring alert; shaded blue: a retraining, the old student serving until "
            f"the new one is deployed; hatched grey: a teacher outage.{events_of} The dotted "
            f"line in the bottom panel is the error rate the teacher alone would have had on the "
            f"same calls."
        ),
        "report-latency.png": (
            f"**Latency.** The run directory keeps one latency percentile per {tick}, so this "
            f"is the p99 of each {tick}{mean} over the horizon (not a full distribution), with "
            f"the p50 and p99 of the whole run."
        ),
        "report-frontier.png": (
            "**Which policy, at which setting?** Cost per 1,000 calls against the silent-"
            "failure rate for every policy and grid point in compare.parquet, on one request "
            "stream. Stars are on the Pareto frontier (no other variant is at least as good on "
            "cost, silent failures and p99 latency and better on one)."
        ),
    }


# --- a compare directory -----------------------------------------------------------------------

COMPARISON_HEADERS = (
    "", "policy", "point", "cost/call", "savings", "fallback", "abandoned", "failed", "error",
    "silent", "p99", "SLO", "verdict",
)  # fmt: skip


def _variant_name(row: dict[str, Any]) -> str:
    return row["policy"] + (f" ({row['point']})" if row["point"] else "")


def comparison_paragraph(rows: pl.DataFrame) -> str:
    """What the comparison found: the frontier, the cheapest and the safest variant, and any
    variant whose deadline turned its fallback off."""
    if rows.height == 0:
        return "The comparison holds no variant."
    named = list(rows.iter_rows(named=True))
    frontier = [_variant_name(r) for r in named if r["frontier"]]
    cheapest = min(named, key=lambda r: _ordered(r["cost_per_call_usd"]))
    safest = min(named, key=lambda r: _ordered(r["silent_failure_rate"]))
    parts = [
        f"{times(rows.height, 'variant', 'variants').capitalize()} ran on one request stream. "
        f"On the Pareto frontier (no other variant at least as good on cost, silent failures and "
        f"p99 latency and better on one): **{', '.join(frontier)}**.",
        f"The cheapest is {_variant_name(cheapest)} at "
        f"{money(cheapest['cost_per_call_usd'])} a call; the fewest silent failures, "
        f"{share(safest['silent_failure_rate'])} of calls, come from {_variant_name(safest)}.",
    ]
    for r in named:
        ratio = _abandoned_ratio(r)
        if ratio is not None and ratio > deadline.MOST:
            parts.append(
                f"Under {_variant_name(r)} the deadline abandoned {share(ratio)} of the "
                f"fallbacks ({share(r['abandoned_rate'])} of calls): it turns the fallback off."
            )
    if all(r["verdict"] is None for r in named):
        parts.append("The summaries carry no verdict, shown as —.")
    return " ".join(parts)


def _ordered(value: float | None) -> float:
    return math.inf if value is None else value


def _abandoned_ratio(row: dict[str, Any]) -> float | None:
    """The share of a variant's fallbacks abandoned, from its rates (escalating policies)."""
    policy = _policy(row["policy"])
    fallbacks, abandoned = row["fallback_rate"], row["abandoned_rate"]
    if policy is None or not policy.escalates or not fallbacks or abandoned is None:
        return None
    return abandoned / fallbacks


def comparison_rows(rows: pl.DataFrame) -> list[list[str]]:
    """The comparison table's cells, each printed by its metric's formatter; the verdict as given
    (— when the summary has none)."""
    metrics = ("cost_per_call_usd", "savings_ratio", "fallback_rate", "abandoned_rate",
               "failed_rate", "error_rate", "silent_failure_rate", "latency_p99_s",
               "slo_attainment")  # fmt: skip
    return [
        [
            "★" if r["frontier"] else "",
            r["policy"],
            r["point"],
            *(for_metric(m)(r[m], 0) for m in metrics),
            r["verdict"] or "—",
        ]
        for r in rows.iter_rows(named=True)
    ]


def comparison_captions() -> dict[str, str]:
    """The compare report's figure captions by file name."""
    stars = (
        " Stars are on the Pareto frontier (no other variant is at least as good on cost, "
        "silent failures and p99 latency and better on one); hollow circles are dominated."
    )
    return {
        "report-frontier.png": (
            "**Which policy, at which setting?** Cost per 1,000 calls against the silent-"
            "failure rate of every policy and grid point, on one request stream." + stars
        ),
        "report-frontier-latency.png": (
            "**And how fast?** Cost per 1,000 calls against the p99 latency of the same "
            "variants." + stars
        ),
    }
