"""Hypothesis strategies for valid scenarios: every policy and every lifecycle table, small enough
that one run takes a fraction of a second (a short horizon, modest traffic, coarse ticks).

Each strategy builds a plain dict on top of tests/builders.py's BASE, so a failing example prints
as a scenario a person can paste into a file. Ranges stay well inside the schema's bounds (sigma a
few units, prices of dollars per million tokens, latencies of seconds): these tests look for wrong
numbers from valid input, not for the validator's edges (the malformed-input corpus does that).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from sim.scenario.models import POLICIES
from tests.builders import BASE

Draw = Any  # hypothesis' draw function

SEGMENT_NAMES = ("core", "tail", "new")


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _probability() -> st.SearchStrategy[float]:
    # the ends are where a rate most easily leaves [0, 1]: draw them often
    return st.one_of(st.sampled_from([0.0, 1.0]), _floats(0.0, 1.0))


@st.composite
def positive_dist(draw: Draw, low: float, high: float) -> dict[str, Any] | float:
    """A duration or a token count: a bare constant, exponential or lognormal around [low, high]."""
    kind = draw(st.sampled_from(["constant", "exponential", "lognormal"]))
    centre = draw(_floats(low, high))
    if kind == "constant":
        return centre  # a bare number is a constant
    if kind == "exponential":
        return {"dist": "exponential", "mean": centre}
    sigma = draw(st.one_of(st.just(0.0), _floats(0.0, 1.5)))
    return {"dist": "lognormal", "median": centre, "sigma": sigma}


@st.composite
def confidence_dist(draw: Draw) -> dict[str, Any] | float:
    """A confidence on [0, 1]: beta, logit-normal or a constant."""
    kind = draw(st.sampled_from(["beta", "logit_normal", "constant"]))
    if kind == "beta":
        return {"dist": "beta", "a": draw(_floats(0.2, 20.0)), "b": draw(_floats(0.2, 20.0))}
    if kind == "logit_normal":
        return {
            "dist": "logit_normal",
            "mu": draw(_floats(-3.0, 3.0)),
            "sigma": draw(_floats(0, 2)),
        }
    return {"dist": "constant", "value": draw(_probability())}


def lower_bound(dist: dict[str, Any] | float) -> float:
    """The smallest value one of positive_dist's distributions takes (the deadline must exceed
    the fastest answer)."""
    if isinstance(dist, float | int):
        return float(dist)
    if dist["dist"] == "lognormal" and dist["sigma"] == 0:
        return float(dist["median"])
    return 0.0


@st.composite
def segments(draw: Draw) -> list[dict[str, Any]]:
    """One to three segments; a later one may start at weight 0 (a launch drift brings it in)."""
    count = draw(st.integers(1, len(SEGMENT_NAMES)))
    out = []
    for i, name in enumerate(SEGMENT_NAMES[:count]):
        weight = draw(_floats(0.05, 1.0)) if i == 0 else draw(st.sampled_from([0.0, 0.3, 1.0]))
        out.append(
            {
                "name": name,
                "weight": weight,
                "tokens_in": draw(positive_dist(1.0, 4000.0)),
                "tokens_out": draw(positive_dist(1.0, 800.0)),
                "student_accuracy": draw(_probability()),
                "teacher_accuracy": draw(_probability()),
                "confidence_correct": draw(confidence_dist()),
                "confidence_wrong": draw(confidence_dist()),
                "in_training": draw(st.booleans()) if i > 0 else True,
                "error_correlation": draw(st.sampled_from([0.0, 0.5, 0.99])),
            }
        )
    return out


@st.composite
def outages(draw: Draw, horizon_days: float) -> list[dict[str, Any]]:
    """Zero to two teacher outages inside the horizon, not overlapping."""
    out: list[dict[str, Any]] = []
    day = 0.0
    for _ in range(draw(st.integers(0, 2))):
        start = draw(_floats(day, horizon_days))
        hours = draw(_floats(0.1, 12.0))
        out.append({"start_day": start, "hours": hours})
        day = start + hours / 24
        if day >= horizon_days:
            break
    return out


@st.composite
def drift(draw: Draw, names: list[str], horizon_days: float) -> list[dict[str, Any]]:
    """Zero to three drift events of any kind, each ramp ending inside the horizon."""
    events = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["mix", "concept", "random_walk"]))
        start = draw(_floats(0.0, 0.99 * horizon_days))  # a drift must start inside the horizon
        if kind == "random_walk":
            volatility = draw(_floats(0.0, 1.0))
            events.append({"kind": kind, "start_day": start, "volatility_per_month": volatility})
            continue
        ramp = draw(st.one_of(st.just(0.0), _floats(0.0, horizon_days - start)))
        if kind == "concept":
            events.append(
                {
                    "kind": kind,
                    "segment": draw(st.sampled_from(names)),
                    "start_day": start,
                    "ramp_days": ramp,
                    "stale_student_accuracy": draw(_probability()),
                }
            )
            continue
        # one named segment keeps a positive weight, so no shift leaves all weights at zero
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        weights = {n: draw(_floats(0.0, 1.0)) for n in chosen}
        weights[chosen[0]] = draw(_floats(0.05, 1.0))
        events.append({"kind": kind, "start_day": start, "ramp_days": ramp, "weights": weights})
    return events


@st.composite
def scenarios(draw: Draw) -> dict[str, Any]:
    """A valid scenario dict: any policy, with any mix of the optional tables."""
    raw = copy.deepcopy(BASE)
    horizon = draw(_floats(0.25, 2.0))
    raw["scenario"] = {
        "name": "prop",
        "horizon_days": horizon,
        "seed": draw(st.integers(0, 2**32 - 1)),
        "replications": draw(st.integers(1, 2)),
        "tick_s": draw(st.sampled_from([600.0, 900.0, 1800.0, 3600.0])),
    }
    raw["traffic"] = {
        "calls_per_day": draw(_floats(10.0, 50_000.0)),
        "diurnal_amplitude": draw(_floats(0.0, 0.95)),
        "peak_hour": draw(_floats(0.0, 23.9)),
        "growth_per_month": draw(_floats(-0.5, 2.0)),
    }
    if draw(st.booleans()):
        weekly = draw(st.lists(_floats(0.0, 2.0), min_size=7, max_size=7))
        weekly[draw(st.integers(0, 6))] = draw(_floats(0.1, 2.0))
        raw["traffic"]["weekly"] = weekly
    segs = draw(segments())
    names = [s["name"] for s in segs]
    raw["segments"] = segs

    service = draw(positive_dist(0.01, 2.0))
    student_spt = draw(st.sampled_from([0.0, 0.001, 0.01]))
    raw["student"] = {
        "servers": draw(st.integers(1, 8)),
        "concurrency": draw(st.integers(1, 8)),
        "service_s": service,
        "seconds_per_output_token": student_spt,
        "gpu_hour_usd": draw(_floats(0.0, 10.0)),
        "unseen_accuracy": draw(_probability()),
    }
    latency = draw(positive_dist(0.05, 5.0))
    teacher_spt = draw(st.sampled_from([0.0, 0.002, 0.02]))
    raw["teacher"] = {
        "input_usd_per_mtok": draw(_floats(0.0, 30.0)),
        "output_usd_per_mtok": draw(_floats(0.0, 90.0)),
        "latency_s": latency,
        "seconds_per_output_token": teacher_spt,
        "rate_limit_per_min": draw(st.sampled_from([0, 0, 1, 5, 50, 1000])),
        "outages": draw(outages(horizon)),
        "on_teacher_unavailable": draw(st.sampled_from(["return_student", "fail"])),
    }

    policy = draw(st.sampled_from(POLICIES))
    router: dict[str, Any] = {"policy": policy}
    if policy == "cascade" or draw(st.booleans()):
        router["threshold"] = draw(_probability())
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(names), unique=True))
        router["segment_thresholds"] = {n: draw(_probability()) for n in chosen}
    if draw(st.booleans()):
        # the deadline must exceed the fastest possible answer of the policy
        first, spt = (latency, teacher_spt) if policy == "teacher_only" else (service, student_spt)
        fastest = lower_bound(first) + spt * min(lower_bound(s["tokens_out"]) for s in segs)
        router["deadline_s"] = fastest + draw(_floats(0.05, 30.0))
        router["on_deadline"] = draw(st.sampled_from(["return_student", "fail"]))
    if draw(st.booleans()):
        router["bypass_queue_s"] = draw(_floats(0.01, 10.0))
    raw["router"] = router

    raw["economics"] = {
        "dataset_usd": draw(_floats(0.0, 20_000.0)),
        "training_usd": draw(_floats(0.0, 10_000.0)),
        "maintenance_usd_per_month": draw(_floats(0.0, 5000.0)),
        "engineer_day_usd": draw(_floats(0.0, 1500.0)),
    }

    if policy == "verify" or draw(st.booleans()):
        raw["verifier"] = {
            "recall": draw(_probability()),
            "false_positive_rate": draw(_probability()),
            "blind_spot_correlation": draw(_probability()),
            "usd_per_call": draw(_floats(0.0, 0.01)),
            "latency_s": draw(positive_dist(0.001, 2.0)),
            "on_flag": draw(st.sampled_from(["teacher", "human"])),
        }
        if raw["verifier"]["on_flag"] == "teacher":
            raw["verifier"]["checks_teacher"] = draw(st.booleans())
    if raw.get("verifier", {}).get("on_flag") == "human" or draw(st.booleans()):
        raw["human"] = {
            "usd_per_review": draw(_floats(0.0, 5.0)),
            "reviewers": draw(st.sampled_from([0, 1, 3, 20])),
            "review_s": draw(positive_dist(1.0, 300.0)),
            "accuracy": draw(_probability()),
        }

    raw["drift"] = draw(drift(names, horizon))
    raw["secondary"] = [
        {
            "name": f"out{j}",
            "student_quality": draw(_probability()),
            "teacher_quality": draw(_probability()),
        }
        for j in range(draw(st.integers(0, 2)))
    ]
    if draw(st.booleans()):
        raw["monitoring"] = {
            "window_hours": draw(_floats(0.5, 48.0)),
            "fallback_rate_alert": draw(_probability()),
            "audit_rate": draw(st.one_of(st.just(0.0), _floats(0.0, 0.2))),
            "audit_usd": draw(_floats(0.0, 5.0)),
        }
    if draw(st.booleans()):
        # alert first where it can apply: the reach test must meet it within its examples
        triggers = (["alert"] if "monitoring" in raw else []) + ["never", "schedule"]
        raw["retraining"] = {
            "trigger": draw(st.sampled_from(triggers)),
            "every_days": draw(_floats(0.05, 2.0)),
            "duration_days": draw(_floats(0.0, 1.0)),
            "dataset_calls": draw(_floats(0.0, 50_000.0)),
            "compute_usd": draw(_floats(0.0, 5000.0)),
            "engineer_days": draw(_floats(0.0, 5.0)),
            "min_share": draw(_probability()),
        }
    return raw
