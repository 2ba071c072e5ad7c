"""`distill-sim report` on a compare directory: one row per compared policy with its numbers, its
place on the frontier and its verdict (the summary's own, — without one), the frontier figures,
and bad input refused in one line."""

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.formatting import for_metric
from sim.report import COMPARISON_FIGURES, policy_rows

CODE_FIX = Path(__file__).resolve().parents[2] / "scenarios" / "code-fix-verify.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHOWN = ("cost_per_call_usd", "savings_ratio", "fallback_rate", "abandoned_rate", "failed_rate",
         "error_rate", "silent_failure_rate", "latency_p99_s", "slo_attainment")  # fmt: skip


def run_cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


class Cells(HTMLParser):
    """The text of every cell of the comparison table, row by row (header row excluded)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.inside = False
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "comparison") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(page: str) -> list[list[str]]:
    parser = Cells()
    parser.feed(page)
    return [row for row in parser.rows if row]


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    """Three policies on code-fix-verify, the verify deadline tight enough to abandon most of
    its fallbacks, cascade with a threshold of its own."""
    out = tmp_path_factory.mktemp("report") / "compared"
    result = run_cli("compare", CODE_FIX, "--set", "scenario.horizon_days=0.2",
                     "--policy", "cascade:router.threshold=0.8", "--policy", "verify",
                     "--policy", "verify:router.deadline_s=40", "--policy", "teacher_only",
                     "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_report_writes_one_row_per_policy(compared, tmp_path):
    directory = tmp_path / "copy"
    shutil.copytree(compared, directory)
    result = run_cli("report", directory)
    assert result.exit_code == 0, result.output
    summaries = json.loads((directory / "summaries.json").read_text())
    page = (directory / "report.html").read_text()
    rows = table_rows(page)
    assert [row[1] for row in rows] == ["cascade", "verify", "teacher_only"]
    assert [row[2] for row in rows] == ["router.threshold=0.8", "router.deadline_s=40", ""]
    for row, summary in zip(rows, summaries, strict=True):
        assert row[0] == ("" if summary["dominated"] else "★")
        assert row[3:-1] == [for_metric(m)(summary[m], 0) for m in SHOWN]
        assert row[-1] == summary["verdict"] + summary["verdict_reason"]  # compare's verdicts
    # the verify deadline abandons most of the fallbacks: the page says so
    verify = summaries[1]
    assert verify["fallback_abandoned_ratio"] > 0.5
    assert "turns the fallback off" in page
    for name in COMPARISON_FIGURES:
        assert (directory / name).read_bytes().startswith(PNG_MAGIC)
    assert page.count("data:image/png;base64,") == 2
    manifest = json.loads((directory / "manifest.json").read_text())
    assert {"report.html", *COMPARISON_FIGURES} <= set(manifest["files"])


def test_report_shows_the_summaries_verdicts(compared, tmp_path):
    directory = tmp_path / "verdicts"
    shutil.copytree(compared, directory)
    summaries = json.loads((directory / "summaries.json").read_text())
    summaries[0] |= {"verdict": "does_not_pay", "verdict_reason": "costs more than the teacher"}
    summaries[2] |= {"verdict": "pays", "verdict_reason": None}
    del summaries[1]["verdict"], summaries[1]["verdict_reason"]  # a summary from before verdicts
    (directory / "summaries.json").write_text(json.dumps(summaries))
    assert run_cli("report", directory).exit_code == 0
    rows = table_rows((directory / "report.html").read_text())
    assert [row[-1] for row in rows] == ["does_not_paycosts more than the teacher", "—", "pays"]
    assert policy_rows(summaries)["verdict"].to_list() == ["does_not_pay", None, "pays"]


def test_policy_rows_are_the_summaries(compared):
    summaries = json.loads((compared / "summaries.json").read_text())
    rows = policy_rows(summaries)
    table = pl.read_parquet(compared / "compare.parquet")
    assert rows["point"].to_list() == table["point"].to_list()
    assert rows["frontier"].to_list() == [not d for d in table["dominated"]]
    for metric in SHOWN:
        assert rows[metric].to_list() == [s[metric] for s in summaries]


@pytest.mark.parametrize("case", ["corrupt summaries.json", "rows do not match", "not a list"])
def test_a_broken_compare_directory_is_one_line_and_exit_2(compared, tmp_path, case):
    directory = tmp_path / "broken"
    shutil.copytree(compared, directory)
    summaries = directory / "summaries.json"
    if case == "corrupt summaries.json":
        summaries.write_text("[{")
    elif case == "rows do not match":
        summaries.write_text(json.dumps(json.loads(summaries.read_text())[:2]))
    else:
        summaries.write_text('{"scenario": "x"}')
    result = run_cli("report", directory)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and str(directory) in lines[0] and "Traceback" not in result.output
    assert not (directory / "report.html").exists()
