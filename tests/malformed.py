"""The malformed-input corpus: one `Case` per hostile or careless input, checked the same way.

Every case runs the real CLI in-process from an empty working directory holding only the case's
own files, and must: exit 2, print nothing on stdout, print one non-blank line per problem on
stderr with no traceback and no markup rewriting (each `expect` text appears literally), and leave
the directory exactly as it was (no results, no hidden staging folder).

`tests/test_malformed_*.py` files each hold a list of cases for one area and call `check`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@dataclass(frozen=True)
class Case:
    """argv after `distill-sim`; "{tmp}" becomes the case's directory and "{scenarios}" the bundled
    scenarios folder. `files` are written into the directory first (str as UTF-8, bytes as is);
    `setup` may prepare more (it gets the directory). `expect`: texts that must appear in stderr;
    `lines`: the exact number of problem lines, when the case knows it."""

    id: str
    argv: list[str]
    expect: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    lines: int | None = None


def _snapshot(directory: Path) -> dict[str, bytes | None]:
    """Every path under `directory` (hidden ones too): a file's bytes, None for a folder."""
    out: dict[str, bytes | None] = {}
    for path in sorted(directory.rglob("*")):
        key = str(path.relative_to(directory))
        out[key] = path.read_bytes() if path.is_file() else None
    return out


def _expand(text: str, directory: Path) -> str:
    return text.replace("{tmp}", str(directory)).replace("{scenarios}", str(SCENARIOS))


def check(case: Case, tmp_path: Path) -> list[str]:
    """Run one case and assert the bad-input contract; return its problem lines."""
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.setup is not None:
        case.setup(tmp_path)
    before = _snapshot(tmp_path)
    argv = [_expand(a, tmp_path) for a in case.argv]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(app, argv)
    finally:
        os.chdir(cwd)
    context = f"{case.id}: exit {result.exit_code}\n{result.output}"
    assert result.exit_code == 2, context
    assert isinstance(result.exception, SystemExit), (context, result.exception)
    assert "Traceback" not in result.output, context
    assert result.stdout == "", context
    lines = result.stderr.splitlines()
    assert lines and all(line.strip() for line in lines), context
    for text in case.expect:
        assert _expand(text, tmp_path) in result.stderr, (text, context)
    if case.lines is not None:
        assert len(lines) == case.lines, context
    assert _snapshot(tmp_path) == before, f"{case.id}: files changed\n{context}"
    return lines
