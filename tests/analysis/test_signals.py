"""The seed's scorecard: evidence from the scenario and a run, declarations, and the verdict."""

import json

from typer.testing import CliRunner

from sim.analysis.signals import MILLION_A_MONTH, assess
from sim.cli import app
from tests.builders import BASE


def card_of(path: str, *sets: str) -> dict:
    args = ["assess", path, "--json"] + [x for s in sets for x in ("--set", s)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_name(card: dict) -> dict:
    return {(s["kind"], s["name"]): s for s in card["signals"]}


def test_the_good_candidate_is_a_strong_case():
    card = card_of("scenarios/ticket-triage.toml")
    assert card["good_signals"] == 5 and card["strong_bad_signals"] == []
    assert "a strong case" in card["signals_tally"]
    assert card["verdict"] == "pays"


def test_the_bad_candidate_is_killed_by_a_strong_bad_signal():
    card = card_of("scenarios/support-replies.toml")
    assert "drifting" in card["strong_bad_signals"]
    assert "usually enough to kill a case" in card["signals_tally"]
    # its silent failures top the teacher's own errors: the one verdict says unsafe
    assert card["verdict"] == "unsafe"
    assert card["verdict_reason"].startswith("Silent failures are ")
    signals = by_name(card)
    assert signals[("bad", "drifting")]["source"] == "computed"
    assert signals[("bad", "costly subtle failures")]["source"] == "declared"


def summary_for(calls: float, **extra) -> dict:
    return {"calls": calls, "eval_error_rate": 0.05, "silent_failure_rate": 0.01,
            "error_rate": 0.03, "excess_error_rate": 0.0, "alerts": 0, "retrains": 0,
            **extra}  # fmt: skip


def test_volume_threshold_is_a_million_calls_a_month(scenario):
    s = scenario(scenario={"horizon_days": 30.0})
    high = assess(s, summary_for(MILLION_A_MONTH))
    low = assess(s, summary_for(MILLION_A_MONTH - 1))
    assert by_name(high)[("good", "high volume")]["present"] is True
    assert by_name(low)[("good", "high volume")]["present"] is False


def test_a_broad_mix_and_a_concept_change_are_strong_bad_signals(scenario):
    seg = BASE["segments"][0]
    segments = [dict(seg, name=f"s{i}", weight=1.0) for i in range(4)]
    s = scenario(
        segments=segments,
        scenario={"horizon_days": 30.0},
        drift=[{"kind": "concept", "segment": "s0", "start_day": 5, "stale_student_accuracy": 0.5}],
    )
    card = assess(s, summary_for(5e6))
    assert set(card["strong_bad_signals"]) >= {"broad or open-ended", "drifting"}
    assert "usually enough to kill" in card["signals_tally"]


def test_two_or_three_good_signals_say_stay_on_the_teacher(scenario):
    s = scenario(scenario={"horizon_days": 30.0}, signals={"verifiable": False})
    card = assess(s, summary_for(1000.0, eval_error_rate=0.15))
    # narrow and stable only; "no verifier" declared is strong: killed
    assert card["good_signals"] == 2
    s = scenario(scenario={"horizon_days": 30.0})
    card = assess(s, summary_for(1000.0, eval_error_rate=0.15))
    assert card["good_signals"] == 2 and not card["strong_bad_signals"]
    assert "staying on the teacher" in card["signals_tally"]
