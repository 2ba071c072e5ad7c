"""The run report: each plotted series is the data it was drawn from, the page stands alone, the
`report` command regenerates it and refuses bad input."""

import base64
import dataclasses
import html
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from sim.analysis import economics
from sim.cli import app
from sim.formatting import money
from sim.report import (
    FIGURE_NAMES,
    cost_series,
    daily_rates,
    event_marks,
    frontier_points,
    key_numbers,
    latency_series,
    load_run,
    render_html,
    verdict,
    write_report,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
LAUNCH = SCENARIOS / "new-product-launch.toml"
TRIAGE = SCENARIOS / "ticket-triage.toml"
# Six days of the launch, compressed: the new product arrives on day 1 over a one-day ramp, a
# low alert threshold on a short window fires alerts and retrainings (one still under way at the
# horizon), and a teacher outage on day 4.
SHORT_LAUNCH = [
    "--set", "scenario.horizon_days=6",
    "--set", "traffic.calls_per_day=20000",
    "--set", "drift[0].start_day=1",
    "--set", "drift[0].ramp_days=1",
    "--set", "retraining.duration_days=2",
    "--set", "monitoring.fallback_rate_alert=0.095",
    "--set", "monitoring.window_hours=6",
    "--set", "teacher.outages=[{start_day=4, hours=3}]",
]  # fmt: skip
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def launch(tmp_path_factory) -> Path:
    """A two-replication run of the shortened launch, written by `distill-sim run`."""
    out = tmp_path_factory.mktemp("report") / "launch"
    result = run_cli(
        "run", str(LAUNCH), *SHORT_LAUNCH, "--replications", "2", "--json", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    """Three days of ticket triage with a cheap dataset and training: it breaks even mid-run."""
    out = tmp_path_factory.mktemp("report") / "single"
    args = ["run", str(TRIAGE), "--set", "scenario.horizon_days=3",
            "--set", "economics.dataset_usd=500", "--set", "economics.training_usd=500",
            "--json", "--out", str(out)]  # fmt: skip
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    return out


def by_replication(series: pl.DataFrame, column: str) -> np.ndarray:
    """A column as a replications × ticks array."""
    ordered = series.sort("replication", "tick")
    reps = ordered["replication"].n_unique()
    return ordered[column].to_numpy().astype(float).reshape(reps, -1)


def test_run_writes_the_report_and_figures(launch):
    names = {p.name for p in launch.iterdir()}
    assert {"report.html", "report-cost.png", "report-rates.png", "report-latency.png"} <= names
    assert "report-frontier.png" not in names  # no compare.parquet in a run directory
    assert not [n for n in names if n.startswith(".")]


def test_cost_curves_are_the_cumulative_costs(launch):
    series = pl.read_parquet(launch / "timeseries.parquet")
    summary = json.loads((launch / "summary.json").read_text())
    tick_s = 3600.0
    plotted = cost_series(series, tick_s, summary["horizon_days"])
    np.testing.assert_allclose(
        plotted["distill_usd"], by_replication(series, "cumulative_cost_usd").mean(axis=0)
    )
    np.testing.assert_allclose(
        plotted["teacher_only_usd"],
        by_replication(series, "cumulative_teacher_only_usd").mean(axis=0),
    )
    ticks = series.filter(pl.col("replication") == 0).sort("tick")
    np.testing.assert_allclose(plotted["day"], (ticks["time_s"].to_numpy() + tick_s) / 86400)
    assert plotted["day"][-1] == summary["horizon_days"]


def test_break_even_marked_is_where_the_plotted_curves_cross(single):
    run = load_run(single)
    plotted = cost_series(run.timeseries, run.tick_s, run.horizon_days)
    crossing = economics.break_even_day(
        plotted["distill_usd"].to_numpy(),
        plotted["teacher_only_usd"].to_numpy(),
        np.append(0.0, plotted["day"].to_numpy() * 86400),  # tick boundaries, as in metrics
    )
    assert 0 < run.summary["break_even_day"] < run.horizon_days
    assert crossing == pytest.approx(run.summary["break_even_day"])
    page = (single / "report.html").read_text()
    assert f"day {run.summary['break_even_day']:.1f}" in page


def test_daily_rates_are_each_days_share_of_calls(launch):
    series = pl.read_parquet(launch / "timeseries.parquet")
    plotted = daily_rates(series)
    days = (series["time_s"].to_numpy() // 86400).astype(int)
    reps = series["replication"].to_numpy()
    calls = series["calls"].to_numpy().astype(float)
    assert plotted["day"].to_list() == sorted(set(days.tolist()))
    for column in ("fallback_rate", "silent_failure_rate"):
        rate = series[column].fill_null(0.0).to_numpy()
        expected = [
            np.mean(
                [
                    (rate * calls)[(days == d) & (reps == r)].sum()
                    / calls[(days == d) & (reps == r)].sum()
                    for r in np.unique(reps)
                ]
            )
            for d in plotted["day"]
        ]
        np.testing.assert_allclose(plotted[column], expected)
    assert plotted["silent_failure_rate"][3] > plotted["silent_failure_rate"][0]  # the launch


def test_latency_is_each_ticks_p99(launch):
    series = pl.read_parquet(launch / "timeseries.parquet")
    plotted = latency_series(series)
    np.testing.assert_allclose(
        plotted["latency_p99_s"], by_replication(series, "latency_p99_s").mean(axis=0)
    )
    ticks = series.filter(pl.col("replication") == 0).sort("tick")
    np.testing.assert_allclose(plotted["day"], ticks["time_s"].to_numpy() / 86400)


def test_event_marks_are_replication_zeros_events(launch):
    events = pl.read_parquet(launch / "events.parquet").filter(pl.col("replication") == 0)
    horizon = json.loads((launch / "summary.json").read_text())["horizon_days"]
    marks = event_marks(pl.read_parquet(launch / "events.parquet"), horizon)

    def days(kind: str) -> list[float]:
        return sorted((events.filter(pl.col("kind") == kind)["time_s"] / 86400).to_list())

    def starts(family: str) -> list[float]:
        return sorted(marks.filter(pl.col("kind") == family)["start_day"].to_list())

    assert days("alert") and days("retraining_start") and days("outage_start")
    for family in ("alert", "drift", "retraining", "outage"):
        kind = family if family == "alert" else f"{family}_start"
        assert starts(family) == pytest.approx(days(kind))
    instants = marks.filter(pl.col("kind") == "alert")
    assert instants["start_day"].to_list() == instants["end_day"].to_list()
    drift = marks.filter(pl.col("kind") == "drift").row(0, named=True)
    assert (drift["start_day"], drift["end_day"]) == (1.0, 2.0)
    for row in events.filter(pl.col("kind") == "retraining_start").iter_rows(named=True):
        version = row["detail"].split()[1]
        ended = events.filter(
            (pl.col("kind") == "retraining_end") & pl.col("detail").str.contains(f"{version} ")
        )
        mark = marks.filter(pl.col("detail") == row["detail"]).row(0, named=True)
        end = ended["time_s"][0] / 86400 if ended.height else horizon  # still under way
        assert mark["end_day"] == pytest.approx(end)
    outage = marks.filter(pl.col("kind") == "outage").row(0, named=True)
    assert (outage["start_day"], outage["end_day"]) == pytest.approx((4.0, 4.125))


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.references: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data"):
                self.references.append((tag, name, value or ""))


def test_page_is_self_contained(launch):
    page = (launch / "report.html").read_text()
    parsed = _Resources()
    parsed.feed(page)
    assert "http://" not in page and "https://" not in page and "url(" not in page
    assert "script" not in parsed.tags and "link" not in parsed.tags
    images = [value for tag, _name, value in parsed.references if tag == "img"]
    assert len(images) == 3 and len(parsed.references) == 3
    for value, name in zip(images, FIGURE_NAMES, strict=False):
        prefix = "data:image/png;base64,"
        assert value.startswith(prefix)
        png = base64.b64decode(value.removeprefix(prefix))
        assert png.startswith(PNG_MAGIC)
        assert png == (launch / name).read_bytes()  # the PNG beside it is the same picture


def test_page_reads_without_the_scenario_file(launch):
    page = (launch / "report.html").read_text()
    summary = json.loads((launch / "summary.json").read_text())
    assert "<h1>new-product-launch</h1>" in page
    assert "Ticket triage through a product launch" in page
    assert "Key numbers" in page and "teacher&#x27;s own error rate" in page
    assert f"${summary['cost']['total_usd']:,.0f}" in page
    for caption in ("Does it pay, and when?", "Quality over time.", "Latency."):
        assert caption in page


def without_verdict(summary: dict, **changes) -> dict:
    """A summary changed by hand, its stored verdict dropped so the report decides it again (and
    its risk-adjusted figures, which would no longer match the changed plain ones: a summary
    written before verdicts and priced failures)."""
    dropped = ("verdict", "verdict_reason", "risk_adjusted_total_usd",
               "teacher_only_risk_adjusted_usd", "risk_adjusted_savings_usd",
               "risk_adjusted_break_even_day")  # fmt: skip
    out = {k: v for k, v in summary.items() if k not in dropped}
    return {**out, **changes}


def test_verdict_when_distillation_never_pays(single):
    run = load_run(single)
    losing = without_verdict(run.summary, savings_usd=-1234.0, savings_ratio=-0.5,
                             break_even_day=None)  # fmt: skip
    word, text = verdict(dataclasses.replace(run, summary=losing))
    assert word == "does_not_pay"
    assert "never breaks even within the horizon" in text and "$1,234 more" in text


def verdict_box(page: str) -> tuple[str, str, str]:
    """The verdict box's CSS class, its data-verdict word and its headline."""
    start = page.index("<div class='verdict")
    head, _, rest = page[start:].partition("<p class='headline'>")
    css = head.split("'")[1].removeprefix("verdict").strip()
    word = head.split("data-verdict='")[1].split("'")[0]
    return css, word, rest.split("</p>")[0]


def test_the_headline_is_the_stored_verdict_and_names_its_number(single):
    run = load_run(single)
    page = render_html(run, {})
    css, word, headline = verdict_box(page)
    assert word == run.summary["verdict"]
    assert html.escape(run.summary["verdict_reason"].split(" (")[0]) in page


@pytest.mark.parametrize(
    ("changes", "expected", "number"),
    [
        # 12.9% silent against the teacher's 5.4%, savings 4.6%: unsafe, never green
        ({"silent_failure_rate": 0.129, "error_rate": 0.16, "excess_error_rate": 0.106,
          "savings_usd": 460.0, "teacher_only_cost_usd": 10000.0}, "unsafe", "12.90%"),
        ({"silent_failure_rate": 0.001, "error_rate": 0.05, "excess_error_rate": 0.0,
          "savings_usd": 460.0, "teacher_only_cost_usd": 10000.0}, "marginal", "4.60%"),
        ({"silent_failure_rate": 0.001, "error_rate": 0.05, "excess_error_rate": 0.0,
          "savings_usd": 4600.0, "teacher_only_cost_usd": 10000.0, "secondary_silent_failure_rate":
          0.0}, "pays", "46.00%"),
    ],
)  # fmt: skip
def test_the_report_decides_an_old_summary_by_the_same_rules(single, changes, expected, number):
    run = load_run(single)
    changed = dataclasses.replace(run, summary=without_verdict(run.summary, **changes))
    css, word, headline = verdict_box(render_html(changed, {}))
    assert word == expected and number in render_html(changed, {})
    assert (css == "pays") == (expected == "pays" and not run.summary["warnings"])


def test_the_headline_is_never_green_while_a_warning_fires(single):
    run = load_run(single)
    paying = {**run.summary, "verdict": "pays", "verdict_reason": "Savings are 30.00% of it."}
    css, _, headline = verdict_box(render_html(dataclasses.replace(run, summary=paying), {}))
    assert css == "pays" and headline == "Distillation pays off."
    warned = {**paying, "warnings": ["The fallback rate rose from 5.00% to 9.00% over the horizon"]}
    css, word, headline = verdict_box(render_html(dataclasses.replace(run, summary=warned), {}))
    assert css != "pays" and word == "pays" and "warnings" in headline
    for word in ("marginal", "does_not_pay", "unsafe"):
        other = {**paying, "verdict": word, "warnings": []}
        css, _, _ = verdict_box(render_html(dataclasses.replace(run, summary=other), {}))
        assert css != "pays", word


def test_frontier_from_compare_parquet(launch, tmp_path):
    compared = tmp_path / "compare"
    args = ["compare", str(TRIAGE), "--set", "scenario.horizon_days=0.5", "--policy", "cascade",
            "--policy", "teacher_only", "--grid", "router.threshold=0.6,0.9", "--json",
            "--out", str(compared)]  # fmt: skip
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "run"
    shutil.copytree(launch, run_dir)
    shutil.copy(compared / "compare.parquet", run_dir)
    write_report(run_dir)
    table = pl.read_parquet(compared / "compare.parquet")
    plotted = frontier_points(load_run(run_dir).compare)
    for column in ("cost_per_call_usd", "silent_failure_rate", "latency_p99_s"):
        assert plotted[column].to_list() == table[column].to_list()
    assert plotted["frontier"].to_list() == [not d for d in table["dominated"]]
    assert table["point"][0] == "router.threshold=0.6"
    assert plotted["label"].to_list()[:2] == ["cascade threshold=0.6", "cascade threshold=0.9"]
    assert (run_dir / "report-frontier.png").read_bytes().startswith(PNG_MAGIC)
    page = (run_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4 and "Which policy" in page
    (run_dir / "compare.parquet").unlink()
    write_report(run_dir)
    assert not (run_dir / "report-frontier.png").exists()


def test_report_command_regenerates(launch, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(launch, run_dir)
    for name in ("report.html", *FIGURE_NAMES):
        (run_dir / name).unlink(missing_ok=True)
    result = run_cli("report", str(run_dir))
    assert result.exit_code == 0, result.output
    assert str(run_dir / "report.html") in result.stdout
    assert (run_dir / "report.html").read_text() == (launch / "report.html").read_text().replace(
        str(launch), str(run_dir)
    )
    for name in FIGURE_NAMES[:3]:
        assert (run_dir / name).read_bytes().startswith(PNG_MAGIC)


def test_teacher_only_run_has_a_report(tmp_path):
    out = tmp_path / "baseline"
    args = ["run", str(TRIAGE), "--set", "scenario.horizon_days=1",
            "--set", 'router.policy="teacher_only"', "--json", "--out", str(out)]  # fmt: skip
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    assert "Teacher-only baseline." in page and page.count("data:image/png;base64,") == 3


@pytest.mark.parametrize(
    "case", ["missing directory", "no summary.json", "corrupt summary.json", "corrupt parquet"]
)
def test_report_bad_input_exits_2(launch, tmp_path, case):
    target = tmp_path / "nowhere"
    if case != "missing directory":
        shutil.copytree(launch, target)
        (target / "report.html").unlink()
    if case == "no summary.json":
        (target / "summary.json").unlink()
    elif case == "corrupt summary.json":
        (target / "summary.json").write_text('{"scenario": ')
    elif case == "corrupt parquet":
        (target / "timeseries.parquet").write_bytes(b"not parquet")
    result = run_cli("report", str(target))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and str(target) in lines[0] and "Traceback" not in result.output
    assert not (target / "report.html").exists()


def test_key_numbers_add_the_risk_adjusted_figures_when_failures_are_priced(single):
    summary = json.loads((single / "summary.json").read_text())
    labels = [row[0] for row in key_numbers(summary)["Money"]]
    assert not [label for label in labels if "risk-adjusted" in label]
    priced = {**summary, "cost": {**summary["cost"], "failure_usd": 1234.5}}
    priced |= {
        "risk_adjusted_total_usd": summary["cost"]["total_usd"] + 1234.5,
        "teacher_only_risk_adjusted_usd": summary["teacher_only_cost_usd"] + 4321.0,
        "risk_adjusted_savings_usd": summary["savings_usd"] + 4321.0 - 1234.5,
        "risk_adjusted_break_even_day": None,
    }
    rows = {row[0]: row[1] for row in key_numbers(priced)["Money"]}
    assert rows["priced failures (wrong answers, failed calls)"] == "$1,234"
    assert rows["total, risk-adjusted"] == money(priced["risk_adjusted_total_usd"])
    assert rows["teacher only, risk-adjusted"] == money(priced["teacher_only_risk_adjusted_usd"])
    assert rows["savings, risk-adjusted"] == money(priced["risk_adjusted_savings_usd"])
    assert rows["break-even day, risk-adjusted"] == "never"
    assert rows["total (distill and route)"] == money(summary["cost"]["total_usd"])  # still there


@pytest.mark.parametrize("on_deadline", ["return_student", "fail"])
def test_prose_says_the_deadline_abandoned_the_fallbacks(tmp_path, on_deadline):
    from sim.formatting import share

    out = tmp_path / on_deadline
    args = ["run", str(TRIAGE), "--set", "scenario.horizon_days=0.5",
            "--set", "router.deadline_s=0.5", "--set", f'router.on_deadline="{on_deadline}"',
            "--json", "--out", str(out)]  # fmt: skip
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    assert s["fallback_abandoned_ratio"] > 0.9  # a 0.5 s deadline behind a 0.9 s teacher
    _pays, text = verdict(load_run(out))
    got = "got the student's answer" if on_deadline == "return_student" else "failed"
    assert (
        f"{share(s['abandoned_rate'])} of calls ({share(s['fallback_abandoned_ratio'])} of the "
        f"fallbacks) were abandoned at the 0.500 s deadline** and {got}"
    ) in text
    assert "fell back to the teacher" not in text
    if on_deadline == "return_student":  # flags fired: the student's answer came back anyway
        assert "nothing flagging it" not in text and "deadline abandoned" in text
        assert not any("nothing flags it" in w for w in s["warnings"])
    page = (out / "report.html").read_text()
    assert "Your deadline turns the fallback off" in page
    assert "abandoned at the deadline" in page  # a key number


def test_prose_without_a_deadline_keeps_its_words(single):
    _pays, text = verdict(load_run(single))
    assert "fell back to the teacher" in text and "abandoned" not in text
