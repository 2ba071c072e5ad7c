"""The one verdict: a table of hand-built summaries, each rule at its edge, and the precedence
unsafe > does_not_pay > marginal > pays."""

import pytest

from sim.analysis import decision
from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from sim.problems import BadInput

# A clean summary: the teacher alone gets 5% wrong (error 5% − excess 0%), the student's silent
# failures are 1% of calls, nothing secondary fails, and distilling saves 3,000 of 10,000 (30%).
CLEAN = {
    "savings_usd": 3000.0,
    "teacher_only_cost_usd": 10000.0,
    "break_even_day": 12.34,
    "silent_failure_rate": 0.01,
    "error_rate": 0.05,
    "excess_error_rate": 0.0,
    "secondary_silent_failure_rate": 0.0,
}


def decide(policy: str = "cascade", limit=None, rho=None, **changes) -> decision.Decision:
    return decision.from_parts({**CLEAN, **changes}, policy, limit, rho)


# (changes to CLEAN, policy, limit, blind-spot correlation) → (verdict, a number in the reason)
TABLE = [
    ({}, "cascade", None, None, "pays", "30.00%"),
    ({"savings_usd": 2000.0}, "cascade", None, None, "pays", "20.00%"),  # the bar is inclusive
    ({"savings_usd": 1999.0}, "cascade", None, None, "marginal", "19.99%"),
    ({"savings_usd": 460.0}, "cascade", None, None, "marginal", "4.60%"),
    ({"savings_usd": 0.0}, "cascade", None, None, "does_not_pay", "$0"),
    ({"savings_usd": -500.0}, "cascade", None, None, "does_not_pay", "$500 more"),
    # silent failures 6% against the teacher's 8% − 3% = 5%: unsafe whatever the savings
    ({"silent_failure_rate": 0.06, "error_rate": 0.08, "excess_error_rate": 0.03},
     "cascade", None, None, "unsafe", "6.00%"),
    # at the teacher's own rate exactly the rule does not fire
    ({"silent_failure_rate": 0.05}, "cascade", None, None, "pays", "30.00%"),
    # under the teacher's 5%, but over the scenario's limit of 0.5%
    ({}, "cascade", 0.005, None, "unsafe", "0.50%"),
    ({}, "cascade", 0.01, None, "pays", "30.00%"),  # at the limit: allowed
    ({"secondary_silent_failure_rate": 0.006}, "cascade", None, None, "unsafe", "0.60%"),
    ({"secondary_silent_failure_rate": 0.005}, "cascade", None, None, "pays", "30.00%"),
    ({}, "verify", None, 0.5, "unsafe", "0.5"),  # a verifier sharing the blind spots
    ({}, "verify", None, 0.49, "pays", "30.00%"),
    ({}, "cascade", None, 0.9, "pays", "30.00%"),  # a verifier that routes nothing is no risk
    # precedence: unsafe over does_not_pay, does_not_pay over marginal
    ({"savings_usd": -500.0, "secondary_silent_failure_rate": 0.02}, "cascade", None, None,
     "unsafe", "2.00%"),
    ({"savings_usd": -0.01}, "cascade", None, None, "does_not_pay", "$0.0100 more"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "policy", "limit", "rho", "expected", "number"), TABLE)
def test_each_outcome_and_its_deciding_number(changes, policy, limit, rho, expected, number):
    d = decide(policy, limit, rho, **changes)
    assert d.verdict == expected
    assert number in d.reason
    assert d.reason.endswith(".") and "\n" not in d.reason
    assert d.headline == decision.HEADLINES[expected]


def test_precedence_is_unsafe_then_does_not_pay_then_marginal_then_pays():
    assert decision.VERDICTS == ("pays", "marginal", "does_not_pay", "unsafe")
    money = {"pays": 3000.0, "marginal": 1000.0, "does_not_pay": -1000.0}
    for word, savings in money.items():
        assert decide(savings_usd=savings).verdict == word
        # any safety rule overrides every money verdict
        assert decide(savings_usd=savings, secondary_silent_failure_rate=0.5).verdict == "unsafe"
        assert decide("cascade", 0.001, savings_usd=savings).verdict == "unsafe"


def test_the_sql_like_run_is_never_pays():
    """The run a new user saw: savings 4.6%, 12.90% of calls silently wrong, the teacher's own
    error 5.4% (error 16.0% − excess 10.6%)."""
    sql = {"savings_usd": 460.0, "teacher_only_cost_usd": 10000.0, "silent_failure_rate": 0.129,
           "error_rate": 0.16, "excess_error_rate": 0.106}  # fmt: skip
    d = decide(**sql)
    assert d.verdict == "unsafe"
    assert "12.90%" in d.reason and "5.40%" in d.reason
    # and with its silent failures fixed it is still only marginal
    assert decide(**{**sql, "silent_failure_rate": 0.01}).verdict == "marginal"


def test_several_breaches_name_the_first_and_count_the_rest():
    d = decide("verify", 0.001, 0.8, secondary_silent_failure_rate=0.01)
    assert d.verdict == "unsafe"
    assert "max_silent_failure_rate" in d.reason and "(2 more safety rules fire too)" in d.reason
    d = decide("cascade", 0.001, secondary_silent_failure_rate=0.01)
    assert d.reason.endswith("(1 more safety rule fires too).")


def test_risk_adjusted_figures_win_when_present():
    # plainly 30%, risk-adjusted 1,000 of 12,000 = 8.33%: marginal
    d = decide(risk_adjusted_savings_usd=1000.0, teacher_only_risk_adjusted_usd=12000.0)
    assert d.verdict == "marginal" and "8.33%" in d.reason and "risk-adjusted" in d.reason
    d = decide(risk_adjusted_savings_usd=-1.0, teacher_only_risk_adjusted_usd=12000.0)
    assert d.verdict == "does_not_pay"
    # one risk-adjusted figure alone is not enough: the plain pair decides
    assert decide(risk_adjusted_savings_usd=-1.0).verdict == "pays"
    assert decision.money_of({**CLEAN, "risk_adjusted_savings_usd": -1.0}).risk_adjusted is False


def test_the_quoted_break_even_day_is_the_simulated_risk_adjusted_one():
    d = decide()
    assert "day 12.3 (simulated)" in d.reason
    d = decide(risk_adjusted_savings_usd=4000.0, teacher_only_risk_adjusted_usd=11000.0,
               risk_adjusted_break_even_day=20.04)  # fmt: skip
    assert "day 20.0 (simulated, risk-adjusted)" in d.reason and "12.3" not in d.reason
    priced = {"cost": {"failure_usd": 5.0}}
    even = decision.break_even_of(
        {"break_even_day": 3.0, "risk_adjusted_break_even_day": None, **priced}
    )
    assert even.day is None and even.name == "simulated, risk-adjusted"


def test_the_teacher_only_baseline_pays_nothing_off():
    d = decision.from_parts({**CLEAN, "savings_usd": 0.0}, "teacher_only")
    assert d.verdict == "does_not_pay" and "baseline" in d.reason


def test_no_calls_is_not_a_division_by_zero():
    d = decide(savings_usd=None, teacher_only_cost_usd=0.0)
    assert d.verdict == "does_not_pay" and "no calls" in d.reason


def test_a_run_stores_the_verdict_the_rules_give(scenario):
    """A short cascade run with a silent-failure limit under its realized rate: unsafe, and the
    seed's warnings say so too; without the limit the same summary decides by its money."""
    s = scenario(economics={"max_silent_failure_rate": 0.001})
    summary = summarize(s, 0, run_fast(s, 0, 1))
    assert summary["silent_failure_rate"] > 0.001
    assert summary["verdict"] == "unsafe"
    assert "max_silent_failure_rate" in summary["verdict_reason"]
    assert any("max_silent_failure_rate" in w for w in summary["warnings"])
    plain = decision.from_parts(summary, "cascade")
    assert plain.verdict == decision.money_class(decision.money_of(summary))
    assert plain.verdict != "unsafe"


@pytest.mark.parametrize("value", [1.5, -0.1])
def test_the_limit_is_a_share(scenario, value):
    with pytest.raises(BadInput) as bad:
        scenario(economics={"max_silent_failure_rate": value})
    (line,) = bad.value.problems
    assert line.startswith(f"economics.max_silent_failure_rate: got {value:g}")
