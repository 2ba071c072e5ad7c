"""The output contract end to end: every command that writes uses a new or empty folder, replaces
a previous result of its own only with --force (recognised by its manifest), never deletes or
renames what it did not write, finds every path problem before the work, and a run killed while
writing leaves a staging folder that the next run into the same parent removes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w
from typer.testing import CliRunner

from sim import output_dir, results
from sim.cli import app
from sim.problems import BadInput
from tests.builders import raw

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "scenarios" / "ticket-triage.toml"
LOGS_FLAGS = ["--segment-column", "segment", "--confidence-column", "confidence",
              "--correct-column", "correct"]  # fmt: skip


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A scenario of 0.02 days (about 20 000 calls), ticks of 10 minutes: well under a second."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.toml"
    scenario = raw(scenario={"name": "tiny", "horizon_days": 0.02, "seed": 0, "tick_s": 600})
    path.write_text(tomli_w.dumps(scenario))
    return path


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def listed(folder: Path) -> list[str]:
    return sorted(json.loads((folder / "manifest.json").read_text())["files"])


def seed_of(folder: Path) -> int:
    return json.loads((folder / "summary.json").read_text())["seed"]


# --- run ------------------------------------------------------------------------------------


def test_run_writes_a_manifest_that_lists_exactly_its_files(tiny, tmp_path):
    out = tmp_path / "r"
    result = cli("run", tiny, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tool"] == "distill-sim" and manifest["command"] == "run"
    assert listed(out) == entries(out)
    assert {"summary.json", "timeseries.parquet", "report.html"} <= set(entries(out))
    assert entries(tmp_path) == ["r"]  # no staging or retired folder left beside it


def test_run_uses_an_existing_empty_folder(tiny, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert cli("run", tiny, "--out", out, "--json").exit_code == 0
    assert (out / "summary.json").is_file() and entries(tmp_path) == ["empty"]


def test_force_replaces_a_previous_run_and_nothing_else(tiny, tmp_path):
    out = tmp_path / "r"
    (tmp_path / "neighbour.txt").write_text("the user's")
    assert cli("run", tiny, "--out", out, "--seed", "1", "--json").exit_code == 0
    refused = cli("run", tiny, "--out", out, "--seed", "2", "--json")
    assert refused.exit_code == 2 and "--force to replace it" in refused.stderr
    assert seed_of(out) == 1
    assert cli("run", tiny, "--out", out, "--seed", "2", "--force", "--json").exit_code == 0
    assert seed_of(out) == 2
    assert entries(tmp_path) == ["neighbour.txt", "r"]
    assert (tmp_path / "neighbour.txt").read_text() == "the user's"


def test_force_leaves_a_folder_with_a_users_file_untouched(tiny, tmp_path):
    out = tmp_path / "r"
    assert cli("run", tiny, "--out", out, "--seed", "1", "--json").exit_code == 0
    (out / "notes.txt").write_text("mine")
    before = {name: (out / name).read_bytes() for name in entries(out)}
    result = cli("run", tiny, "--out", out, "--seed", "2", "--force", "--json")
    assert result.exit_code == 2 and "did not write: notes.txt" in result.stderr
    assert {name: (out / name).read_bytes() for name in entries(out)} == before


def test_report_keeps_the_manifest_complete(tiny, tmp_path):
    out = tmp_path / "r"
    assert cli("run", tiny, "--out", out, "--json").exit_code == 0
    (out / "report.html").unlink()
    (out / "manifest.json").write_text(
        json.dumps({**json.loads((out / "manifest.json").read_text()), "files": ["summary.json"]})
    )
    assert cli("report", out).exit_code == 0
    assert {"report.html", "report-cost.png", "summary.json", "manifest.json"} <= set(listed(out))
    assert (
        cli("run", tiny, "--out", out, "--force", "--json").exit_code == 2
    )  # events etc. unlisted


def test_a_folder_that_appears_during_the_run_is_not_replaced(tmp_path):
    """The contract is checked again at the rename: a user's folder made while the simulation ran
    is refused, left as it was, and the staging folder removed."""
    out = tmp_path / "r"

    def meanwhile(staging: Path) -> None:
        out.mkdir()
        (out / "keep").write_text("mine")

    with pytest.raises(BadInput, match="did not write: keep"):
        results.write_directory(out, {"a.txt": "x"}, {}, meanwhile, command="run", force=True)
    assert entries(tmp_path) == ["r"] and entries(out) == ["keep"]


# --- the other writing commands ------------------------------------------------------------


def test_compare_force_replaces_its_previous_result(tiny, tmp_path):
    out = tmp_path / "c"
    args = ("compare", tiny, "--policy", "cascade", "--out", out, "--json")
    assert cli(*args).exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["command"] == "compare"
    assert listed(out) == entries(out)
    assert cli(*args).exit_code == 2
    assert cli(*args, "--force").exit_code == 0 and entries(tmp_path) == ["c"]


def test_calibrate_empty_folder_then_force(tmp_path, synthetic_logs, write_logs):
    logs = write_logs(tmp_path / "logs.csv", synthetic_logs(0, {"core": (400, 0.9)}))
    out = tmp_path / "cal"
    out.mkdir()
    assert cli("calibrate", logs, *LOGS_FLAGS, "--out", out, "--json").exit_code == 0
    assert listed(out) == entries(out) and "calibration.toml" in entries(out)
    assert cli("calibrate", logs, *LOGS_FLAGS, "--out", out, "--json").exit_code == 2
    assert cli("calibrate", logs, *LOGS_FLAGS, "--out", out, "--force", "--json").exit_code == 0
    assert entries(tmp_path) == ["cal", "logs.csv"]


def test_stress_writes_a_manifest_and_is_refused_a_second_time(tiny, tmp_path):
    out = tmp_path / "s"
    args = ("stress", tiny, "--vary", "router.threshold=0.5:0.9", "--target",
            "fallback_rate<=0.2", "--steps", "1", "--workers", "1", "--out", out,
            "--json")  # fmt: skip
    assert cli(*args).exit_code == 0
    assert listed(out) == entries(out) == ["manifest.json", "stress.json", "stress.parquet"]
    again = cli(*args)
    assert again.exit_code == 2 and "--force to replace it" in again.stderr


def test_sweep_resumes_its_own_folder_and_force_replaces_another_result(tiny, tmp_path):
    out = tmp_path / "sw"
    sweep = ("sweep", tiny, "--grid", "router.threshold=0.6,0.8", "--workers", "1")
    assert cli(*sweep, "--out", out, "--json").exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["command"] == "sweep"
    resumed = cli(*sweep, "--out", out, "--json")  # the same sweep: resumed, not refused
    assert resumed.exit_code == 0 and json.loads(resumed.stdout)["runs"]["skipped"] == 2
    other = ("sweep", tiny, "--grid", "router.threshold=0.7,0.9", "--workers", "1", "--out", out)
    assert cli(*other).exit_code == 2
    replaced = cli(*other, "--force", "--json")
    assert replaced.exit_code == 0 and json.loads(replaced.stdout)["runs"]["ran"] == 2
    assert entries(tmp_path) == ["sw"]
    run_dir = tmp_path / "run"
    assert cli("run", tiny, "--out", run_dir, "--json").exit_code == 0
    assert cli(*sweep, "--out", run_dir, "--json").exit_code == 2
    assert cli(*sweep, "--out", run_dir, "--force", "--json").exit_code == 0
    assert "summary.json" not in entries(run_dir) and "sweep.parquet" in entries(run_dir)


def test_fit_traffic_replaces_only_its_own_fragment(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("ts\n" + "".join(f"{0.7 * i:.3f}\n" for i in range(200)))
    out = tmp_path / "traffic.toml"
    args = ("fit-traffic", trace, "--time-column", "ts", "--time-unit", "s", "--out", out)
    assert cli(*args).exit_code == 0
    first = out.read_text()
    assert first.startswith(output_dir.FRAGMENT_HEADER)
    refused = cli(*args)
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert cli(*args, "--force").exit_code == 0 and out.read_text() == first
    out.write_text("# my own notes\n")
    assert cli(*args, "--force").exit_code == 2 and out.read_text() == "# my own notes\n"
    assert entries(tmp_path) == ["t.csv", "traffic.toml"]


# --- unwritable places ---------------------------------------------------------------------


def test_an_unwritable_parent_is_refused_before_the_work(tiny, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permission bits do not stop writes (/proc is tested)")
        for args in (("run", tiny), ("compare", tiny), ("calibrate", tiny, *LOGS_FLAGS)):
            result = cli(*args, "--out", locked / "out")
            assert result.exit_code == 2, result.output
            assert "expected a folder that can be created (cannot create a folder in" in (
                result.stderr
            )
        fit = cli("fit-traffic", tiny, "--out", locked / "f.toml")
        assert fit.exit_code == 2 and "expected a file that can be written" in fit.stderr
        assert entries(locked) == []
    finally:
        locked.chmod(0o700)


def test_directory_problems_of_each_kind(tmp_path):
    assert output_dir.directory_problems(tmp_path / "new" / "deeper", False) == []
    (tmp_path / "empty").mkdir()
    assert output_dir.directory_problems(tmp_path / "empty", False) == []
    result = tmp_path / "result"
    result.mkdir()
    (result / "manifest.json").write_text(output_dir.manifest_text("run", ["a.txt"]))
    (result / "a.txt").write_text("x")
    (result / ".a.txt.tmp-12345").write_text("x")  # a killed write of a listed file: ours
    assert output_dir.directory_problems(result, True) == []
    (problem,) = output_dir.directory_problems(result, False)
    assert "--force to replace it" in problem
    assert entries(tmp_path) == ["empty", "result"]  # the probes left nothing


# --- staging left by a killed process --------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_dead_processes_are_removed_and_nothing_else(tmp_path):
    dead = dead_pid()
    ours = tmp_path / f".r.tmp-{dead}"
    ours.mkdir()
    (ours / "manifest.json").write_text(output_dir.manifest_text("run", []))
    (ours / "summary.json").write_text("{}")
    retired = tmp_path / f".r.old-{dead}"
    retired.mkdir()
    (retired / "manifest.json").write_text(output_dir.manifest_text("run", []))
    empty = tmp_path / f".s.tmp-{dead}"
    empty.mkdir()
    foreign = tmp_path / f".notes.tmp-{dead}"
    foreign.mkdir()
    (foreign / "keep").write_text("mine")
    live = tmp_path / f".r.tmp-{os.getppid()}"
    live.mkdir()
    (tmp_path / f".f.tmp-{dead}").write_text("a file, not a staging folder")
    other = tmp_path / "r.tmp-1"
    other.mkdir()
    removed = output_dir.remove_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == sorted([ours.name, retired.name, empty.name])
    assert entries(tmp_path) == sorted([foreign.name, live.name, f".f.tmp-{dead}", other.name])


def test_a_run_killed_while_writing_leaves_nothing_after_the_next_run(tiny, tmp_path):
    """SIGKILL once the staging folder appears (polled, no hook), then a rerun into the same
    parent: only the two results' names remain, and the killed one never half-appears."""
    parent = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _attempt in range(3):  # the window is the report's figures: about a second
        child = subprocess.Popen(
            [sys.executable, "-m", "sim", "run", str(tiny), "--out", str(parent / "first"),
             "--json"],  # fmt: skip
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        staged = []
        while child.poll() is None and not staged:
            staged = list(parent.glob(".first.tmp-*")) if parent.is_dir() else []
            time.sleep(0.002)
        if staged and child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            break
        child.wait()
        if (parent / "first").exists():
            import shutil

            shutil.rmtree(parent / "first")  # finished before it was caught: try again
    else:
        pytest.fail("the staging folder was never seen while the run was writing")
    assert child.returncode == -signal.SIGKILL
    assert [p.name for p in parent.iterdir()] == [staged[0].name]
    rerun = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(tiny), "--out", str(parent / "second"), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert entries(parent) == ["second"]
