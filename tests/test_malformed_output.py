"""The malformed-input corpus for the output contract: every command that writes refuses an --out
it may not write (a file, a folder holding files it did not write, a path that cannot be
created, a previous result without --force) before any work, in one line naming --out and the path,
and leaves everything as it was."""

import json
from pathlib import Path

import pytest

from tests.malformed import Case, check

TRIAGE = "{scenarios}/ticket-triage.toml"
SHORT = ["--set", "scenario.horizon_days=0.05"]
LOGS = "{scenarios}/logs/ticket-triage-student.csv"
CALIBRATE = [
    "calibrate",
    LOGS,
    "--segment-column",
    "segment",
    "--confidence-column",
    "confidence",
    "--correct-column",
    "correct",
]
TRACE = "call,ts\n1,0.0\n2,1.5\n3,2.0\n"
FIT = ["fit-traffic", "t.csv", "--time-column", "ts", "--time-unit", "s"]
STRESS = ["stress", TRIAGE, *SHORT, "--vary", "router.threshold=0.5:0.9", "--target",
          "fallback_rate<=0.2"]  # fmt: skip
SWEEP = ["sweep", TRIAGE, *SHORT, "--grid", "router.threshold=0.6,0.8", "--workers", "1"]


def result_folder(name: str, command: str = "run", **extra: object):
    """A folder as distill-sim leaves a result: a manifest listing its files, and the files."""

    def setup(directory: Path) -> None:
        folder = directory / name
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text("{}\n")
        manifest = {"tool": "distill-sim", "version": "0.1.0", "command": command,
                    "created": "2026-01-01T00:00:00+00:00",
                    "files": ["manifest.json", "summary.json"], **extra}  # fmt: skip
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return setup


def with_stranger(setup, name: str, stranger: str):
    def both(directory: Path) -> None:
        setup(directory)
        (directory / name / stranger).write_text("the user's\n")

    return both


def broken_link(name: str):
    def setup(directory: Path) -> None:
        (directory / name).symlink_to(directory / "nowhere")

    return setup


NOT_EMPTY = "expected a new or empty folder (it holds files distill-sim did not write: keep"
IS_FILE = "expected a new or empty folder (it is a file)"
UNDER_FILE = "expected a folder that can be created ({tmp}/f is a file, not a folder)"
PROC = "expected a folder that can be created (cannot create a folder in /proc"
PREVIOUS = "it holds a previous distill-sim result; choose another, or --force to replace it"

CASES = [
    # run
    Case(
        "run-out-not-empty",
        ["run", TRIAGE, "--out", "d"],
        ['--out: got "d"; ' + NOT_EMPTY],
        files={"d/keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "run-out-file",
        ["run", TRIAGE, "--out", "f"],
        ['--out: got "f"; ' + IS_FILE],
        files={"f": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "run-out-under-file",
        ["run", TRIAGE, "--out", "f/sub"],
        ['--out: got "f/sub"; ' + UNDER_FILE],
        files={"f": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "run-out-proc",
        ["run", TRIAGE, "--out", "/proc/x"],
        ['--out: got "/proc/x"; ' + PROC],
        lines=1,
    ),  # fmt: skip
    Case(
        "run-out-current-folder",
        ["run", TRIAGE, "--out", "."],
        ['--out: got "."; expected a new or empty folder (it is the current folder'],
        files={"keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "run-out-previous-result",
        ["run", TRIAGE, "--out", "r"],
        ['--out: got "r"; ', PREVIOUS],
        setup=result_folder("r"),
        lines=1,
    ),  # fmt: skip
    Case(
        "run-force-foreign-folder",
        ["run", TRIAGE, "--out", "d", "--force"],
        ['--out: got "d"; ' + NOT_EMPTY],
        files={"d/keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "run-force-result-with-stranger",
        ["run", TRIAGE, "--out", "r", "--force"],
        ["it holds a distill-sim result and files it did not write: notes.txt"],
        setup=with_stranger(result_folder("r"), "r", "notes.txt"),
        lines=1,
    ),  # fmt: skip
    Case(
        "run-force-foreign-manifest",
        ["run", TRIAGE, "--out", "d", "--force"],
        ["did not write: manifest.json"],
        files={"d/manifest.json": '{"tool": "other"}'},
        lines=1,
    ),  # fmt: skip
    Case(
        "run-out-broken-link",
        ["run", TRIAGE, "--out", "d"],
        ['--out: got "d"; expected a new or empty folder (it is a symbolic link'],
        setup=broken_link("d"),
        lines=1,
    ),  # fmt: skip
    Case(
        "run-default-results-is-file",
        ["run", TRIAGE],
        ['--out: got "results" (the default); expected a folder (it is a file)'],
        files={"results": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "run-default-name-is-file",
        ["run", TRIAGE],
        [
            '--out: got "results/ticket-triage/',
            "(the default); expected a folder that can be "
            "created ({tmp}/results/ticket-triage is a file, not a folder)",
        ],
        files={"results/ticket-triage": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "run-out-and-engine",
        ["run", TRIAGE, "--engine", "slow", "--out", "f"],
        ["--engine: got 'slow'", '--out: got "f"; ' + IS_FILE],
        files={"f": "x"},
        lines=2,
    ),  # fmt: skip
    Case(
        "run-out-link-to-result",
        ["run", TRIAGE, "--out", "link", "--force"],
        [
            '--out: got "link"; expected a new or empty folder (it is a symbolic link; give the '
            "folder it points to)"
        ],
        setup=lambda d: (result_folder("r")(d), (d / "link").symlink_to(d / "r")),
        lines=1,
    ),  # fmt: skip
    # compare
    Case(
        "compare-out-not-empty",
        ["compare", TRIAGE, "--policy", "cascade", "--out", "d"],
        ['--out: got "d"; ' + NOT_EMPTY],
        files={"d/keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "compare-out-file",
        ["compare", TRIAGE, "--out", "f"],
        ['--out: got "f"; ' + IS_FILE],
        files={"f": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "compare-out-previous-result",
        ["compare", TRIAGE, "--out", "r"],
        [PREVIOUS],
        setup=result_folder("r", "compare"),
        lines=1,
    ),  # fmt: skip
    Case(
        "compare-force-foreign",
        ["compare", TRIAGE, "--out", "d", "--force"],
        [NOT_EMPTY],
        files={"d/keep": "x"},
        lines=1,
    ),  # fmt: skip
    # sweep
    Case(
        "sweep-out-not-empty",
        [*SWEEP, "--out", "d"],
        ['--out: got "d"; ' + NOT_EMPTY],
        files={"d/keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "sweep-out-file",
        [*SWEEP, "--out", "f"],
        ['--out: got "f"; ' + IS_FILE],
        files={"f": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "sweep-out-under-file",
        [*SWEEP, "--out", "f/sub"],
        ['--out: got "f/sub"; ' + UNDER_FILE],
        files={"f": "x"},
        lines=1,
    ),  # fmt: skip
    Case("sweep-out-proc", [*SWEEP, "--out", "/proc/x"], [PROC], lines=1),
    Case(
        "sweep-out-current-folder",
        [*SWEEP, "--out", "."],
        ["(it is the current folder"],
        files={"keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "sweep-out-run-result",
        [*SWEEP, "--out", "r"],
        [PREVIOUS],
        setup=result_folder("r"),
        lines=1,
    ),  # fmt: skip
    Case(
        "sweep-out-other-sweep",
        [*SWEEP, "--out", "s"],
        ['--out: got "s"; expected the same FILE', "(fingerprint 0000,", "or --force to replace"],
        setup=result_folder("s", "sweep", fingerprint="0000"),
        lines=1,
    ),  # fmt: skip
    Case(
        "sweep-force-sweep-with-stranger",
        [*SWEEP, "--out", "s", "--force"],
        ["files it did not write: notes.txt"],
        setup=with_stranger(result_folder("s", "sweep", fingerprint="0"), "s", "notes.txt"),
        lines=1,
    ),  # fmt: skip
    Case(
        "sweep-default-results-is-file",
        SWEEP,
        ['--out: got "results" (the default)'],
        files={"results": "x"},
        lines=1,
    ),  # fmt: skip
    # stress
    Case(
        "stress-out-not-empty",
        [*STRESS, "--out", "d"],
        ['--out: got "d"; ' + NOT_EMPTY],
        files={"d/keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case("stress-out-proc", [*STRESS, "--out", "/proc/x"], [PROC], lines=1),
    Case(
        "stress-out-previous-result",
        [*STRESS, "--out", "r"],
        [PREVIOUS],
        setup=result_folder("r", "stress"),
        lines=1,
    ),  # fmt: skip
    Case(
        "stress-out-and-steps",
        [*STRESS, "--steps", "0", "--out", "f"],
        ["--steps: got 0", IS_FILE],
        files={"f": "x"},
        lines=2,
    ),  # fmt: skip
    # calibrate
    Case(
        "calibrate-out-file",
        [*CALIBRATE, "--out", "f"],
        ['--out: got "f"; ' + IS_FILE],
        files={"f": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "calibrate-out-not-empty",
        [*CALIBRATE, "--out", "d"],
        [NOT_EMPTY],
        files={"d/keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "calibrate-out-under-file",
        [*CALIBRATE, "--out", "f/sub"],
        [UNDER_FILE],
        files={"f": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "calibrate-default-results-is-file",
        CALIBRATE,
        ['--out: got "results" (the default)'],
        files={"results": "x"},
        lines=1,
    ),  # fmt: skip
    # fit-traffic --out FILE
    Case(
        "fit-out-folder",
        [*FIT, "--out", "d"],
        ['--out: got "d"; expected a file name (it is a folder)'],
        files={"t.csv": TRACE, "d/keep": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "fit-out-missing-parent",
        [*FIT, "--out", "nope/f.toml"],
        [
            '--out: got "nope/f.toml"; expected a file in an existing folder ({tmp}/nope does '
            "not exist)"
        ],
        files={"t.csv": TRACE},
        lines=1,
    ),  # fmt: skip
    Case(
        "fit-out-under-file",
        [*FIT, "--out", "f/g.toml"],
        ["expected a file in an existing folder ({tmp}/f is a file)"],
        files={"t.csv": TRACE, "f": "x"},
        lines=1,
    ),  # fmt: skip
    Case(
        "fit-out-existing-file",
        [*FIT, "--out", "f.toml"],
        ['--out: got "f.toml"; expected a new file (it exists; choose another, or --force'],
        files={"t.csv": TRACE, "f.toml": "[traffic]\n"},
        lines=1,
    ),  # fmt: skip
    Case(
        "fit-out-the-trace-itself",
        [*FIT, "--out", "t.csv", "--force"],
        ["expected a new file (it exists and distill-sim did not write it"],
        files={"t.csv": TRACE},
        lines=1,
    ),  # fmt: skip
    Case(
        "fit-out-proc",
        [*FIT, "--out", "/proc/f.toml"],
        ["expected a file that can be written (cannot create a file in /proc"],
        files={"t.csv": TRACE},
        lines=1,
    ),  # fmt: skip
    Case(
        "fit-out-missing-trace-and-bad-out",
        ["fit-traffic", "nope.csv", "--out", "f"],
        ['--out: got "f"; expected a new file'],
        files={"f": "x"},
        lines=1,
    ),  # fmt: skip
    # report RUN_DIR
    Case(
        "report-run-dir-is-foreign",
        ["report", "d"],
        ["d: no summary.json"],
        files={"d/keep": "x"},
        lines=1,
    ),  # fmt: skip
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed_output(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
