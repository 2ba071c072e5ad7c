"""The trace reader: three formats, three time units, zones, chunking, and every bad input."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.data import traces as trace_file
from sim.data.traces import TraceSpec
from sim.problems import BadInput
from tests.traces import MIDNIGHT_NS, write

HEADER = b"TIMESTAMP,ContextTokens,GeneratedTokens\r\n"


def _arrivals(seed: int, n: int = 5000) -> np.ndarray:
    """Sorted arrival times in ns after midnight, on a 100 ns grid, with some ties."""
    rng = np.random.default_rng(seed)
    gaps = np.round(rng.exponential(2e8, n) / 100) * 100
    gaps[rng.random(n) < 0.05] = 0
    return (7 * 3600 * 10**9 + np.cumsum(gaps)).astype(np.int64)


def _times(spec: TraceSpec, rows_per_chunk: int = 1 << 16) -> np.ndarray:
    return np.concatenate([c.t for c in trace_file.chunks(spec, rows_per_chunk)])


@pytest.mark.parametrize("seed", [1, 2])
def test_the_three_formats_give_identical_times(tmp_path, seed):
    ns = _arrivals(seed)
    tokens = np.arange(len(ns)) % 977
    expected = (ns - ns[0]) / 1e9
    for suffix in (".csv", ".parquet", ".jsonl"):
        spec = write(tmp_path / f"trace{suffix}", ns, tokens, tokens + 1)
        info = trace_file.scan(spec)
        assert info.rows == len(ns) and info.duration_s == expected[-1]
        assert np.array_equal(_times(spec), expected), suffix  # bit for bit
        chunk = next(trace_file.chunks(spec))
        assert np.array_equal(chunk.tokens_in, tokens[: len(chunk.t)])
        # the first call's absolute time: the epoch for datetimes, the column's 0 for numbers
        assert info.start_ns == ns[0] + (MIDNIGHT_NS if suffix == ".csv" else 0)


def test_seven_fractional_digits_and_crlf(tmp_path):
    path = tmp_path / "azure.csv"
    path.write_bytes(
        HEADER + b"2023-11-16 18:15:46.6805900,374,44\r\n"
        b"2023-11-16 18:15:46.6805901,10,3\r\n"
        b"2023-11-16 18:15:49.0000000,5,5\r\n"
    )
    spec = TraceSpec(path, "csv", "TIMESTAMP", "datetime", "ContextTokens", "GeneratedTokens")
    assert _times(spec).tolist() == [0.0, 100e-9, 3 - 0.68059]
    (chunk,) = trace_file.chunks(spec)
    assert chunk.tokens_out is not None and chunk.tokens_out.tolist() == [44, 3, 5]


@pytest.mark.parametrize("unit, scale", [("s", 1.0), ("ms", 1e-3)])
def test_numeric_units(tmp_path, unit, scale):
    path = tmp_path / "t.csv"
    path.write_text("t\n100\n100.5\n250\n")
    spec = TraceSpec(path, "csv", "t", unit)
    assert _times(spec).tolist() == [0.0, 0.5 * scale, 150 * scale]
    assert trace_file.scan(spec).start_ns == round(100 * scale * 1e9)


def test_zoned_datetimes_are_converted_to_utc(tmp_path):
    path = tmp_path / "z.jsonl"
    path.write_text(
        '{"at": "2023-11-16T18:15:46.5Z"}\n'
        '{"at": "2023-11-16T20:15:47.5+02:00"}\n'  # 18:15:47.5 UTC
        '{"at": "2023-11-16 13:15:49.5-0500"}\n'  # 18:15:49.5 UTC
    )
    spec = TraceSpec(path, "jsonl", "at", "datetime")
    assert _times(spec).tolist() == [0.0, 1.0, 3.0]
    assert trace_file.scan(spec).start_ns == (1_700_158_546 * 10**9 + 5 * 10**8)


@pytest.mark.parametrize("rows_per_chunk", [1, 7, 1000, 1 << 20])
def test_chunks_of_any_size_concatenate_to_the_whole(tmp_path, rows_per_chunk):
    ns = _arrivals(3, 3000)
    spec = write(tmp_path / "trace.parquet", ns, np.arange(3000), np.arange(3000) * 2)
    pieces = list(trace_file.chunks(spec, rows_per_chunk))
    assert all(len(p.t) <= rows_per_chunk for p in pieces)
    assert np.array_equal(np.concatenate([p.t for p in pieces]), (ns - ns[0]) / 1e9)
    tokens_out = np.concatenate([p.tokens_out for p in pieces if p.tokens_out is not None])
    assert np.array_equal(tokens_out, np.arange(3000) * 2)


def _problems(path: Path, **columns: str) -> list[str]:
    spec = TraceSpec(path, path.suffix[1:], **columns)  # type: ignore[arg-type]
    with pytest.raises(BadInput) as bad:
        trace_file.scan(spec)
    return bad.value.problems


AZURE_COLUMNS = {
    "time_column": "TIMESTAMP",
    "tokens_in_column": "ContextTokens",
    "tokens_out_column": "GeneratedTokens",
}
GOOD_ROW = b"2023-11-16 18:15:46.6805900,374,44\r\n"
BAD_FILES = {  # body after the header → (data row, column, words the line must hold)
    "unparsable time": (GOOD_ROW + b"yesterday,1,1\r\n", 2, "TIMESTAMP", "a datetime like"),
    "time goes back": (
        GOOD_ROW + b"2023-11-16 18:15:45.0000000,1,1\r\n",
        2,
        "TIMESTAMP",
        "no earlier than data row 1",
    ),
    "negative tokens": (GOOD_ROW + GOOD_ROW.replace(b",44", b",-3"), 2, "GeneratedTokens", "≥ 0"),
    "non-numeric tokens": (
        GOOD_ROW + GOOD_ROW.replace(b",374,", b",many,"),
        2,
        "ContextTokens",
        'got "many"',
    ),
    "empty token cell": (GOOD_ROW.replace(b",374,", b",,") + GOOD_ROW, 1, "ContextTokens", "≥ 0"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_every_bad_cell_is_named_by_data_row_and_column(tmp_path, case):
    body, row, column, words = BAD_FILES[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER + body)
    (line,) = _problems(path, **AZURE_COLUMNS)
    assert f"data row {row}, column '{column}'" in line and words in line, line
    _assert_cli_refuses(path, ["--time-column", "TIMESTAMP"], [line])


def test_a_missing_column_gets_a_did_you_mean(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(HEADER + GOOD_ROW)
    (line,) = _problems(path, **AZURE_COLUMNS | {"tokens_out_column": "GeneratedToken"})
    assert "got \"GeneratedToken\" (did you mean 'GeneratedTokens'?)" in line
    _assert_cli_refuses(
        path,
        ["--time-column", "TIMESTMP"],
        [
            "--time-column: got \"TIMESTMP\" (did you mean 'TIMESTAMP'?); expected a column of "
            "t.csv (TIMESTAMP, ContextTokens, GeneratedTokens)"
        ],
    )


@pytest.mark.parametrize(
    "name, content", [("empty.csv", b""), ("header.csv", HEADER), ("empty.jsonl", b"")]
)
def test_an_empty_file_is_one_line(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(
        app, ["fit-traffic", str(path), "--time-column", "TIMESTAMP", "--time-unit", "datetime"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert str(path) in line


@pytest.mark.parametrize("bad", ["tokens", "times"])
def test_more_than_twenty_bad_rows_are_capped(tmp_path, bad):
    rows = []
    for i in range(31):  # tokens: rows 2..31 hold text; times: each row earlier than the last
        second = 59 - i if bad == "times" else i
        tokens = b"x" if bad == "tokens" and i > 0 else b"5"
        rows.append(b"2023-11-16 18:15:%02d.0000000,%s,1\r\n" % (second, tokens))
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER + b"".join(rows))
    problems = _problems(path, **AZURE_COLUMNS)
    assert len(problems) == 21 and problems[-1] == f"{path}: and 10 more problems"
    for row, line in zip(range(2, 22), problems, strict=False):
        assert f"data row {row}, column" in line
    _assert_cli_refuses(path, ["--time-column", "TIMESTAMP"], problems)


def _assert_cli_refuses(path: Path, options: list[str], lines: list[str]) -> None:
    out = path.parent / "fragment.toml"
    result = CliRunner().invoke(app, ["fit-traffic", str(path), *options, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not out.exists()
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == lines


def test_parquet_streams_one_row_group_at_a_time(tmp_path):
    """Arrow's buffers stay near one row group's size, not the file's (64 MB of times here)."""
    ns = np.arange(8_000_000, dtype=np.int64) * 1000
    spec = write(tmp_path / "long.parquet", ns)  # row groups of 50,000 rows: 400 kB each
    peak = 0
    for _ in trace_file.chunks(spec):
        peak = max(peak, pa.total_allocated_bytes())
    assert peak < 8 << 20
