"""`distill-sim breakeven`: the seed's inequality solved for N, against hand-worked examples."""

import json

import pytest
from typer.testing import CliRunner

from sim.analysis import breakeven, economics, inequality
from sim.cli import app
from sim.scenario.loading import load_scenario

TICKET_TRIAGE = "scenarios/ticket-triage.toml"

# A clear win. N = 15M calls over H = 90 days, c_t = $0.004, c_s = $0.0005, q = 10%,
# c_r = $0.0045 (teacher after the student), D = 12,000, T = 6,000, upkeep 2,000 a month:
# M = 2,000 × 90/30 = 6,000 over the horizon.
WIN = {
    "--calls": 15e6,
    "--teacher-usd": 0.004,
    "--student-usd": 0.0005,
    "--fallback-rate": 0.1,
    "--fallback-usd": 0.0045,
    "--dataset-usd": 12000,
    "--training-usd": 6000,
    "--maintenance-usd-per-month": 2000,
    "--horizon-days": 90,
}
# A loss. N = 1M over 30 days, c_t = $0.01, c_s = $0.002, q = 90%, c_r = $0.011 ≈ c_t,
# D = 5,000, T = 3,000, upkeep 2,000 a month: M = 2,000 over the 30 days.
LOSS = {
    "--calls": 1e6,
    "--teacher-usd": 0.01,
    "--student-usd": 0.002,
    "--fallback-rate": 0.9,
    "--fallback-usd": 0.011,
    "--dataset-usd": 5000,
    "--training-usd": 3000,
    "--maintenance-usd-per-month": 2000,
    "--horizon-days": 30,
}
# The seed's remark: q = 20%, c_r = c_t. N = 1M over 30 days, c_t = $0.01, c_s = $0.001,
# D + T + M = 6,000 (upkeep 1,000 a month, one month).
SEED_REMARK = {
    "--calls": 1e6,
    "--teacher-usd": 0.01,
    "--student-usd": 0.001,
    "--fallback-rate": 0.2,
    "--fallback-usd": 0.01,
    "--dataset-usd": 3000,
    "--training-usd": 2000,
    "--maintenance-usd-per-month": 1000,
    "--horizon-days": 30,
}


def args_of(flags: dict, **changes) -> list[str]:
    merged = {**flags, **{"--" + k.replace("_", "-"): v for k, v in changes.items()}}
    return [x for flag, value in merged.items() if value is not None for x in (flag, str(value))]


def cli(*args: object):
    return CliRunner().invoke(app, ["breakeven", *[str(a) for a in args]])


def report_of(*args: object) -> dict:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def problems(result) -> list[str]:
    """The problem lines of a bad-input exit, after checking the contract around them."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(line.strip() for line in lines)
    return lines


def test_distillation_wins_with_a_clear_break_even():
    r = report_of(*args_of(WIN))["results"]
    # s = 0.004 − 0.9·0.0005 − 0.1·0.0045 = 0.004 − 0.00045 − 0.00045 = 0.0031 per call
    assert r["savings_usd_per_call"] == pytest.approx(0.0031)
    assert r["gross_savings_usd_per_call"] == pytest.approx(0.0035)  # 0.004 − 0.0005
    assert r["fallback_loss_usd_per_call"] == pytest.approx(0.0004)  # 0.1·(0.0045 − 0.0005)
    # teacher 15M · 0.004 = 60,000; distill 24,000 + 15M·(0.00045 + 0.00045) = 37,500
    assert r["teacher_only_usd"] == pytest.approx(60000)
    assert r["distill_usd"] == pytest.approx(37500)
    assert r["savings_usd"] == pytest.approx(22500)
    assert r["savings_ratio"] == pytest.approx(0.375)
    assert r["winner"] == "distill" and r["distill_wins"] and r["pays_back"]
    # N* = 24,000 / 0.0031 = 7,741,935.48; at 15M/90 = 166,666.67 calls/day that is
    # day 24,000·90 / (0.0031·15M) = 2,160,000 / 46,500 = 46.45
    assert r["break_even_calls"] == pytest.approx(24000 / 0.0031)
    assert r["calls_per_day"] == pytest.approx(15e6 / 90)
    assert r["break_even_days"] == pytest.approx(2160000 / 46500)
    # M accruing at 6,000/90 days = 2,000/month: t* = 90·18,000 / (15M·0.0031 − 6,000)
    # = 1,620,000 / 40,500 = 40 days, when 40 · 166,666.67 = 6,666,666.67 calls have arrived
    assert r["maintenance_usd_per_month"] == pytest.approx(2000)
    assert r["break_even_days_maintenance_accruing"] == pytest.approx(40)
    assert r["break_even_calls_maintenance_accruing"] == pytest.approx(40 * 15e6 / 90)


def test_distillation_loses_when_per_call_savings_are_negative():
    r = report_of(*args_of(LOSS))["results"]
    # s = 0.01 − 0.1·0.002 − 0.9·0.011 = 0.01 − 0.0002 − 0.0099 = −0.0001 per call: never
    assert r["savings_usd_per_call"] == pytest.approx(-0.0001)
    # teacher 1M · 0.01 = 10,000; distill 10,000 + 1M·(0.0002 + 0.0099) = 20,100
    assert r["teacher_only_usd"] == pytest.approx(10000)
    assert r["distill_usd"] == pytest.approx(20100)
    assert r["winner"] == "teacher" and not r["distill_wins"] and not r["pays_back"]
    assert r["break_even_calls"] is None
    assert r["break_even_days"] is None
    assert r["break_even_days_maintenance_accruing"] is None
    assert r["break_even_calls_maintenance_accruing"] is None
    table = cli(*args_of(LOSS))
    assert table.exit_code == 0, table.output
    assert "never" in table.stdout and "does_not_pay" in table.stdout
    # the loss is 20,100 − 10,000 = 10,100, 101% of the teacher-only cost
    assert "costs $10,100 more" in table.stdout


def test_zero_savings_is_never_too():
    # c_t = (1−q)·c_s + q·c_r exactly: 0.004 = 0.5·0.004 + 0.5·0.004, nothing to pay D + T + M back
    r = report_of(*args_of(LOSS, teacher_usd=0.004, student_usd=0.004, fallback_rate=0.5,
                           fallback_usd=0.004))["results"]  # fmt: skip
    assert r["savings_usd_per_call"] == pytest.approx(0.0, abs=1e-15)
    assert r["break_even_calls"] is None and r["winner"] == "teacher"


def test_the_seeds_remark_q_20_percent_and_c_r_equal_c_t_eat_most_of_the_savings():
    r = report_of(*args_of(SEED_REMARK))["results"]
    # With no fallback each call saves c_t − c_s = 0.009: 9,000 over 1M calls, 3,000 net of the
    # 6,000 fixed. With q = 20% at c_r = c_t: s = 0.01 − 0.8·0.001 − 0.2·0.01 = 0.0072, 1,200 net.
    # The fallback takes 0.2·(0.01 − 0.001) = 0.0018 per call, 1,800 of the 3,000: 60%, most of it.
    assert r["savings_usd_per_call"] == pytest.approx(0.0072)
    assert r["savings_usd"] == pytest.approx(1200)
    assert r["fallback_loss_usd"] == pytest.approx(1800)
    assert r["fallback_share_of_savings"] == pytest.approx(0.6)
    # and break-even moves from 6,000/0.009 = 666,667 calls to 6,000/0.0072 = 833,333
    assert r["break_even_calls"] == pytest.approx(6000 / 0.0072)
    without = report_of(*args_of(SEED_REMARK, fallback_rate=0))["results"]
    assert without["savings_usd"] == pytest.approx(3000)
    assert without["break_even_calls"] == pytest.approx(6000 / 0.009)
    table = cli(*args_of(SEED_REMARK))
    assert "The fallback path eats 60.00%" in table.stdout
    # 1,200 of the teacher's 10,000 is 12%: under the seed's 20%, marginal
    assert "verdict (the plan's formula, money only): marginal" in table.stdout


def test_a_scenario_uses_its_planned_values():
    rep = report_of(TICKET_TRIAGE)
    plan = economics.planned(load_scenario(TICKET_TRIAGE))
    i, r = rep["inputs"], rep["results"]
    assert rep["source"] == TICKET_TRIAGE and rep["from_flags"] == []
    for key in ("calls", "teacher_usd_per_call", "student_usd_per_call", "fallback_rate",
                "fallback_usd_per_call", "maintenance_usd"):  # fmt: skip
        assert i[key] == pytest.approx(plan[key], rel=1e-12), key
    assert i["dataset_usd"] == 12000 and i["training_usd"] == 6000  # [economics] of the file
    assert i["dataset_usd"] + i["training_usd"] == pytest.approx(plan["dataset_and_training_usd"])
    assert i["maintenance_usd"] == pytest.approx(2000 * 60 / 30)  # per month × H/30
    assert i["maintenance_usd_per_month"] == 2000
    assert i["horizon_days"] == 60
    for key in ("teacher_only_usd", "distill_usd", "savings_usd", "distill_wins"):
        assert r[key] == pytest.approx(plan[key], rel=1e-12), key
    # the totals meet where N·s = D + T + M
    assert r["break_even_calls"] * r["savings_usd_per_call"] == pytest.approx(12000 + 6000 + 4000)
    assert r["calls_per_day"] == pytest.approx(plan["calls"] / 60)


def test_set_replans_the_scenario_and_flags_override_its_values():
    replanned = report_of(TICKET_TRIAGE, "--set", "economics.maintenance_usd_per_month=4000")
    assert replanned["inputs"]["maintenance_usd"] == pytest.approx(4000 * 60 / 30)
    base = report_of(TICKET_TRIAGE)["inputs"]
    rep = report_of(TICKET_TRIAGE, "--fallback-rate", 0.5, "--calls", 1e6)
    assert rep["from_flags"] == ["calls", "fallback_rate"]
    assert rep["inputs"] == {**base, "fallback_rate": 0.5, "calls": 1e6}
    assert any("--calls, --fallback-rate" in line for line in rep["assumptions"])


def test_the_json_has_every_input_and_result():
    rep = report_of(*args_of(WIN))
    assert set(rep) == {"source", "from_flags", "inputs", "results", "verdict", "verdict_reason",
                        "assumptions"}  # fmt: skip
    assert set(rep["inputs"]) == {*breakeven.FLAGS, "maintenance_usd"}
    assert set(rep["results"]) == {
        "winner", "distill_wins", "teacher_only_usd", "distill_usd", "savings_usd",
        "savings_ratio", "fixed_usd", "savings_usd_per_call", "gross_savings_usd_per_call",
        "fallback_loss_usd_per_call", "fallback_loss_usd", "fallback_share_of_savings",
        "pays_back", "break_even_calls", "calls_per_day", "break_even_days",
        "maintenance_usd_per_month", "break_even_days_maintenance_accruing",
        "break_even_calls_maintenance_accruing",
    }  # fmt: skip
    assert rep["source"] == "flags" and rep["from_flags"] == list(breakeven.FLAGS)
    assert rep["inputs"]["calls"] == 15e6 and rep["inputs"]["fallback_usd_per_call"] == 0.0045


def test_without_a_horizon_the_upkeep_has_no_span():
    lines = problems(cli(*args_of(WIN, horizon_days=None)))
    assert lines == ["--horizon-days: missing; expected the horizon in days, > 0 (or give a "
                     "scenario FILE)"]  # fmt: skip


def test_a_bare_maintenance_usd_is_refused_naming_monthly_and_horizon():
    """The old flag read a monthly 6,000 as the whole horizon's upkeep: refused, one line."""
    (line,) = problems(cli(*args_of(WIN, maintenance_usd_per_month=None), "--maintenance-usd",
                           6000))  # fmt: skip
    assert line.startswith("--maintenance-usd: ")
    assert "--maintenance-usd-per-month" in line and "USD/month" in line
    assert "whole horizon" in line or "over the horizon" in line
    (line,) = problems(cli(TICKET_TRIAGE, "--maintenance-usd", 6000))
    assert line.startswith("--maintenance-usd: ")


def test_monthly_upkeep_times_months_is_the_horizons_upkeep():
    """Hand-worked: 6,000 a month over a 90-day horizon is 3 months, M = 18,000; with D + T =
    18,000 and N·s = 15M × 0.0031 = 46,500 the totals meet with M fixed at N* = 36,000 / 0.0031
    calls, and with M accruing at t* = 90 × 18,000 / (46,500 − 18,000) = 56.84 days."""
    rep = report_of(*args_of(WIN, maintenance_usd_per_month=6000))
    assert rep["inputs"]["maintenance_usd_per_month"] == 6000
    assert rep["inputs"]["maintenance_usd"] == pytest.approx(18000)
    r = rep["results"]
    assert r["maintenance_usd_per_month"] == pytest.approx(6000)  # M·30/H gives it back
    assert r["break_even_calls"] == pytest.approx(36000 / 0.0031)
    assert r["break_even_days_maintenance_accruing"] == pytest.approx(90 * 18000 / 28500)
    # the same monthly figure read as the whole horizon's (the old --maintenance-usd 6,000)
    # would have been a third of the upkeep: 2,000 a month
    assert breakeven.maintenance_over(6000, 90) == pytest.approx(3 * 6000)
    assert breakeven.maintenance_over(2000, 45) == pytest.approx(3000)


def test_the_verdict_uses_the_decision_words_and_quotes_one_day():
    rep = report_of(*args_of(WIN))
    # 22,500 of 60,000 is 37.5%: pays; day 40.0 with upkeep accruing (M fixed gives 46.5)
    assert rep["verdict"] == "pays"
    assert "37.50%" in rep["verdict_reason"] and "day 40.0" in rep["verdict_reason"]
    assert "46.5" not in rep["verdict_reason"]
    assert report_of(*args_of(LOSS))["verdict"] == "does_not_pay"
    assert report_of(*args_of(SEED_REMARK))["verdict"] == "marginal"


def test_every_amount_has_its_unit_beside_it():
    out = cli(*args_of(WIN)).stdout
    rows = [line for line in out.splitlines() if "│" in line and "$" in line]
    assert rows and all(("USD" in row) for row in rows), rows
    assert "USD/month" in out and "USD/call" in out and "days" in out


def test_the_table_shows_the_verdict_and_the_choice_of_m():
    result = cli(*args_of(WIN))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "pays" in out and "$22,500" in out
    assert "7,741,935" in out and "46.5" in out and "40.0" in out
    assert "held fixed" in out and "accruing" in out


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--teacher-usd", -0.001, "≥ 0"),
        ("--student-usd", -1, "≥ 0"),
        ("--dataset-usd", -5, "≥ 0"),
        ("--training-usd", -5, "≥ 0"),
        ("--maintenance-usd-per-month", -5, "≥ 0"),
        ("--fallback-usd", -0.01, "≥ 0"),
        ("--fallback-rate", -0.1, "[0, 1]"),
        ("--fallback-rate", 1.5, "[0, 1]"),
        ("--calls", 0, "> 0"),
        ("--calls", -3, "> 0"),
        ("--horizon-days", 0, "> 0"),
        ("--horizon-days", -1, "> 0"),
        ("--teacher-usd", "nan", "≥ 0"),
        ("--calls", "inf", "> 0"),
    ],
)
def test_each_bad_value_is_one_line_naming_its_flag(flag, value, expected):
    args = args_of(WIN, **{flag.removeprefix("--").replace("-", "_"): value})
    (line,) = problems(cli(*args))
    assert line.startswith(f"{flag}: got {float(value):g}; expected ")
    assert expected in line


def test_a_bad_flag_over_a_scenario_is_bad_input_too():
    (line,) = problems(cli(TICKET_TRIAGE, "--fallback-rate", 2))
    assert line.startswith("--fallback-rate: got 2; expected a share of calls in [0, 1]")


def test_neither_file_nor_flags_names_every_missing_flag():
    lines = problems(cli())
    assert [line.split(":")[0] for line in lines] == [
        "--calls", "--teacher-usd", "--student-usd", "--dataset-usd", "--training-usd",
        "--maintenance-usd-per-month", "--fallback-rate", "--fallback-usd", "--horizon-days",
    ]  # fmt: skip
    assert all("missing" in line and "scenario FILE" in line for line in lines)


def test_some_flags_missing_names_only_those():
    args = args_of(WIN, maintenance_usd_per_month=None, fallback_usd=None)
    lines = problems(cli(*args))
    assert [line.split(":")[0] for line in lines] == ["--maintenance-usd-per-month",
                                                      "--fallback-usd"]  # fmt: skip


def test_set_without_a_file_and_a_missing_file_are_bad_input():
    (line,) = problems(cli(*args_of(WIN), "--set", "router.threshold=0.9"))
    assert line.startswith("--set: got 'router.threshold=0.9'; expected a scenario FILE")
    (line,) = problems(cli("no-such.toml"))
    assert line.startswith("no-such.toml: no such file")
    (line,) = problems(cli(TICKET_TRIAGE, "--set", "router.threshold=2"))
    assert line.startswith("router.threshold: got 2")


def test_pure_functions_agree_with_the_inequality():
    i = inequality.Inputs(
        calls=2e6, teacher_usd_per_call=0.01, student_usd_per_call=0.002, dataset_usd=1000,
        training_usd=1000, maintenance_usd=2000, fallback_rate=0.25, fallback_usd_per_call=0.012,
        horizon_days=20,
    )  # fmt: skip
    # s = 0.01 − 0.75·0.002 − 0.25·0.012 = 0.01 − 0.0015 − 0.003 = 0.0055; N* = 4000/0.0055
    assert inequality.savings_per_call(i) == pytest.approx(0.0055)
    n_star = inequality.break_even_calls(i)
    assert n_star == pytest.approx(4000 / 0.0055)
    at_n_star = inequality.Inputs(**{**i.__dict__, "calls": n_star})
    assert inequality.solve(at_n_star)["winner"] == "tie"
    # M accruing at 2000/20 days: t* = 20·2000 / (2e6·0.0055 − 2000) = 40,000 / 9,000 = 4.444 days
    assert inequality.break_even_days_accruing(i) == pytest.approx(40000 / 9000)
    # upkeep outpacing the savings per day: 2e6·0.0055 = 11,000 ≤ M = 12,000 → never
    upkeep = inequality.Inputs(**{**i.__dict__, "maintenance_usd": 12000})
    assert inequality.break_even_days_accruing(upkeep) is None
    assert inequality.break_even_calls(upkeep) is not None


def test_a_scenario_that_plans_no_calls_is_refused_not_divided_by_zero(tmp_path):
    """A half-day horizon on a Monday with no Monday traffic plans 0 calls: the run still works
    (its plan carries no per-call student cost), and `breakeven` says why it has no answer."""
    import tomli_w

    from tests.builders import raw

    path = tmp_path / "quiet.toml"
    quiet = raw(scenario={"horizon_days": 0.5}, traffic={"weekly": [0, 1, 1, 1, 1, 1, 1]})
    path.write_text(tomli_w.dumps(quiet))
    result = CliRunner().invoke(app, ["breakeven", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("traffic: the scenario plans 0 calls over its horizon;")
    result = CliRunner().invoke(app, ["run", str(path), "--json", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["planned"]
    assert plan["calls"] == 0 and plan["student_usd_per_call"] is None
    gpu = 4 * 2.5 * 12  # servers × gpu_hour_usd × hours: paid with or without calls
    assert plan["distill_usd"] == pytest.approx(15000 + 8000 + 4000 * 0.5 / 30 + gpu)
