"""Data files the simulator reads (samples, traces, logs): their formats and read errors."""

from __future__ import annotations

import codecs
import json
import math
from pathlib import Path

from sim.problems import BadInput, show

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# First bytes of files that are not text: a CSV or JSONL reader would choke on them mid-file
# (UnicodeDecodeError, "empty block") instead of saying what the file is.
SIGNATURES = {
    b"\x1f\x8b": "a gzip-compressed file",
    b"PK\x03\x04": "a zip archive",
    b"BZh": "a bzip2-compressed file",
    b"\xfd7zXZ\x00": "an xz-compressed file",
    b"\x28\xb5\x2f\xfd": "a zstd-compressed file",
    b"PAR1": "a Parquet file",
}
SNIFF_BYTES = 4096


def format_of(path: Path) -> str:
    """The file's format from its extension; BadInput naming the file when there is none."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise BadInput(
            [f"{path}: got extension {show(path.suffix)}; expected .csv, .parquet or .jsonl"]
        )
    return kind


def check_file(path: Path, kind: str | None, what: str) -> None:
    """BadInput unless `path` is an existing file whose first bytes fit `kind` (csv, parquet,
    jsonl; None checks only that it is a file); `what` ("a CSV, Parquet or JSONL trace")
    completes the line."""
    if path.is_dir():
        raise BadInput([f"{path}: is a folder; expected {what}"])
    if not path.is_file():
        raise BadInput([f"{path}: no such file; expected {what}"])
    if kind in (None, "parquet"):
        return  # a binary format: its reader says what is wrong with it
    with path.open("rb") as file:
        head = file.read(SNIFF_BYTES)
    found = next((name for magic, name in SIGNATURES.items() if head.startswith(magic)), None)
    if found is None and (b"\x00" in head or not _utf8_prefix(head)):
        found = "binary data"
    if found is not None:
        fix = " (decompress it first)" if "compressed" in found or "zip" in found else ""
        raise BadInput([f"{path}: got {found}; expected {kind.upper()} text{fix}"])


def _utf8_prefix(head: bytes) -> bool:
    """Whether the bytes are UTF-8 (a character cut at the end of the block is fine)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def bad_json_line(path: Path) -> str | None:
    """The first line of a JSONL file that is not a JSON object, as a problem line (None if
    every line is one). Only called once a reader has failed, so its Python pass costs nothing
    on good files."""
    with path.open(encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            got = f"{path}: line {number}: got {_json_text(line.strip())}; expected a JSON object"
            try:
                record = json.loads(line, parse_float=_finite, parse_constant=_refuse)
            except _NotFinite as number_text:
                return f"{path}: line {number}: got {number_text}; expected a finite number"
            except json.JSONDecodeError as error:
                return f"{got} ({error.msg})"
            if not isinstance(record, dict):
                return got
    return None


class _NotFinite(ValueError):
    """A JSON number that is not finite (1e400, NaN, Infinity): pyarrow refuses it by block."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _refuse(text: str) -> float:
    raise _NotFinite(text)


def _json_text(text: str) -> str:
    """A JSON line as written (it is JSON, not a string); cut when long."""
    return text if len(text) <= 60 else text[:57] + "..."


def cell(value: object) -> str:
    """A data file's cell as the user wrote it, for an error line: a number as written (NaN,
    1e400), other text in quotes, an empty cell said so."""
    if value is None or value == "":
        return "an empty cell"
    if isinstance(value, str):
        return value if value == value.strip() and _is_number(value) else show(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return show(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return len(text) <= 60


def reason(error: BaseException) -> str:
    """A reader's error in one line: its first line, or its type when it has no message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
