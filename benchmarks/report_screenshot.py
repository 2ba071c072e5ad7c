"""Render a run's report.html in headless Chromium and save a screenshot, to check how it reads.

    .venv/bin/python benchmarks/report_screenshot.py RUN_DIR [--out PATH] [--height 2400]

Writes RUN_DIR/report.html first if it is missing. Needs Chromium (/usr/bin/chromium, or
`chromium`/`chromium-browser`/`google-chrome` on PATH); the test suite does not.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.report import REPORT_NAME, write_report

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    """The first Chromium found, or exit with how to install it."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    sys.exit("no Chromium found; install it (apt-get install -y chromium) and retry")


def screenshot(report: Path, out: Path, width: int = 1280, height: int = 2400) -> Path:
    """Render `report` at width × height CSS pixels into the PNG `out`."""
    with tempfile.TemporaryDirectory(prefix="report-shot-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={out.resolve()}",
            f"--window-size={width},{height}",
            report.resolve().as_uri(),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not out.is_file():
        sys.exit(f"Chromium wrote no screenshot at {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a directory written by distill-sim run")
    parser.add_argument("--out", type=Path, help="PNG path (default RUN_DIR/report-screenshot.png)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args()
    report = args.run_dir / REPORT_NAME
    if not report.is_file():
        started = time.perf_counter()
        write_report(args.run_dir)
        print(f"wrote {report} in {time.perf_counter() - started:.3f} s")
    out = args.out or args.run_dir / "report-screenshot.png"
    screenshot(report, out, args.width, args.height)
    print(f"screenshot: {out}")


if __name__ == "__main__":
    main()
