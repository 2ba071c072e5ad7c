"""Every command prints the one verdict: `run`, `assess`, `report` and `breakeven` agree on every
bundled scenario (shortened with --set so the whole file runs in well under a minute), and
`compare` shows each policy's."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.analysis import decision
from sim.cli import app

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
# Each bundled scenario, shortened: drift moved inside the horizon where it would fall outside.
SHORT = {
    "azure-conv-replay": ["scenario.horizon_days=1"],
    "code-fix-verify": ["scenario.horizon_days=10"],
    "latency-ensemble": ["scenario.horizon_days=2"],
    "new-product-launch": ["scenario.horizon_days=8", "drift[0].start_day=4",
                           "drift[0].ramp_days=2", "retraining.duration_days=2"],
    "support-replies": ["scenario.horizon_days=12", "drift[0].start_day=4",
                        "drift[0].ramp_days=6", "drift[1].start_day=8", "drift[1].ramp_days=2",
                        "retraining.every_days=5", "retraining.duration_days=2"],
    "ticket-triage": ["scenario.horizon_days=3", "economics.dataset_usd=500",
                      "economics.training_usd=500"],
}  # fmt: skip


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def sets(name: str) -> list[str]:
    return [x for item in SHORT[name] for x in ("--set", item)]


def test_every_bundled_scenario_is_covered():
    assert {p.stem for p in SCENARIOS.glob("*.toml")} == set(SHORT)


# the trace replay reads its trace file whatever the horizon: the slow run (-m slow) covers it
SLOW = {"azure-conv-replay"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(SHORT)]
)
def test_run_assess_report_and_breakeven_agree(name, tmp_path):
    file = str(SCENARIOS / f"{name}.toml")
    out = tmp_path / "run"
    summary = json.loads(invoke("run", file, *sets(name), "--json", "--out", str(out)).stdout)
    word, reason = summary["verdict"], summary["verdict_reason"]
    assert word in decision.VERDICTS and reason
    # the summary's own numbers, decided again by hand from the rules' inputs, give the word
    money = decision.money_class(decision.money_of(summary))
    assert word == ("unsafe" if word == "unsafe" else money)
    if word != "unsafe":
        assert not decision.breaches(summary)
    # report: the page's verdict box carries the same word and names the same number
    invoke("report", str(out))
    page = (out / "report.html").read_text()
    assert re.search(rf"data-verdict='{word}'", page)
    assert "class='verdict pays'" not in page or not summary["warnings"]
    # assess: the scorecard's verdict is the same word and sentence
    card = json.loads(invoke("assess", file, *sets(name), "--json").stdout)
    assert (card["verdict"], card["verdict_reason"]) == (word, reason)
    # the run's table prints it too
    table = invoke("run", file, *sets(name), "--out", str(tmp_path / "again")).stdout
    assert f"verdict: {word}" in " ".join(table.split())
    # breakeven: the plan's formula on money alone, the same words as the run's plan section
    rep = json.loads(invoke("breakeven", file, *sets(name), "--json").stdout)
    plan = summary["planned"]
    planned = decision.money_class(decision.Money(plan["savings_usd"], plan["teacher_only_usd"]))
    assert rep["verdict"] == planned
    # and on these scenarios the plan and the simulation fall on the same side of the bar
    assert rep["verdict"] == money


def test_compare_shows_each_policys_verdict(tmp_path):
    file = str(SCENARIOS / "code-fix-verify.toml")
    args = ["compare", file, *sets("code-fix-verify"), "--policy", "verify", "--policy",
            "teacher_only", "--policy", "student_only", "--out", str(tmp_path / "c")]  # fmt: skip
    summaries = json.loads(invoke(*args, "--json", "--force").stdout)
    words = {s["policy"]: s["verdict"] for s in summaries}
    assert words["teacher_only"] == "does_not_pay"
    for s in summaries:
        assert s["verdict"] == decision.from_parts(s, s["policy"], None, 0.1).verdict
    table = " ".join(invoke(*args, "--force").stdout.split())
    assert "verdict" in table
    for policy, word in words.items():
        assert re.search(rf"{policy} .*{word}", table), (policy, word)
