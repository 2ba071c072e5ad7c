"""Reading logged student outputs: the three formats agree, and every kind of bad input gets one
line per problem naming the row and column, exit 2, and no output at all."""

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.data.logs import read_logs, segment_name

COLUMNS = ("--segment-column", "segment", "--confidence-column", "confidence")
CORRECT = ("--correct-column", "correct")


def calibrate(logs: Path, out: Path | None, *flags: str):
    args = ["calibrate", str(logs), *(flags or (*COLUMNS, *CORRECT))]
    return CliRunner().invoke(app, args + (["--out", str(out)] if out else []))


def problems(tmp_path: Path, logs: Path, *flags: str) -> list[str]:
    """The problem lines, after checking exit 2, no traceback, nothing on stdout, no output."""
    out = tmp_path / "out"
    result = calibrate(logs, out, *flags)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and result.stdout == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [logs.name]  # no staging left either
    return result.stderr.splitlines()


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_the_three_formats_read_the_same_rows(tmp_path, suffix, synthetic_logs, write_logs):
    columns = synthetic_logs(0, {"core": (300, 0.9), "tail": (100, 0.6)})
    logs = read_logs(
        write_logs(tmp_path / f"logs{suffix}", columns), "segment", "confidence", "correct"
    )
    assert logs.rows == 400
    assert [s.name for s in logs.segments] == ["core", "tail"]
    core = logs.segments[0]
    np.testing.assert_array_equal(core.confidence, columns["confidence"][:300])
    np.testing.assert_array_equal(core.correct, columns["correct"][:300])


def test_correct_accepts_true_false_in_any_case_and_1_0_and_csv_crlf_quotes(tmp_path):
    text = (
        "segment,confidence,correct\r\n"
        'core,0.9,true\r\ncore," 0.8",True\r\ncore,0.7,TRUE\r\ncore,0.6,1\r\ncore,0.5,1.0\r\n'
        'core,0.4,false\r\ncore,0.3,False\r\ncore,0.2,0\r\n"rare, old",0.1,0\r\n'
    )
    logs = read_logs(write_text(tmp_path / "logs.csv", text), "segment", "confidence", "correct")
    assert logs.segments[0].correct.tolist() == [True] * 5 + [False] * 3
    assert logs.segments[0].confidence.tolist() == [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    assert (logs.segments[1].name, logs.segments[1].label) == ("rare__old", "rare, old")


def test_log_labels_become_scenario_segment_names():
    assert segment_name("core") == "core"
    assert segment_name("billing/refunds v2") == "billing_refunds_v2"
    assert segment_name("-x") == "_-x"


def test_missing_columns_are_named_with_a_did_you_mean(tmp_path, synthetic_logs, write_logs):
    logs = write_logs(tmp_path / "logs.csv", synthetic_logs(0, {"core": (10, 0.9)}))
    flags = ("--segment-column", "segment", "--confidence-column", "confidnce")
    lines = problems(tmp_path, logs, *flags, "--correct-column", "ok")
    assert lines == [
        f"{logs}: --confidence-column: no column \"confidnce\" (did you mean 'confidence'?); "
        'the file has "segment", "confidence", "correct"',
        f'{logs}: --correct-column: no column "ok"; the file has "segment", "confidence", '
        '"correct"',
    ]


def test_every_bad_value_is_one_line_naming_its_data_row_and_column(tmp_path):
    text = (
        "segment,confidence,correct\n"
        "core,0.9,true\ncore,1.3,1\ncore,high,0\n,0.5,yes\ncore,,True\ncore,-0.1,2\ncore,nan,0\n"
    )
    logs = write_text(tmp_path / "logs.csv", text)
    number = "expected a number in [0, 1]"
    assert problems(tmp_path, logs) == [
        f'{logs} row 4, column "segment": empty; expected a name',
        f'{logs} row 2, column "confidence": got 1.3; {number}',
        f'{logs} row 3, column "confidence": got "high"; {number}',
        f'{logs} row 5, column "confidence": empty; {number}',
        f'{logs} row 6, column "confidence": got -0.1; {number}',
        f'{logs} row 7, column "confidence": got nan; {number}',
        f'{logs} row 4, column "correct": got "yes"; expected true/false or 1/0',
        f'{logs} row 6, column "correct": got 2; expected true/false or 1/0',
    ]


def test_bad_values_in_a_typed_parquet_file(tmp_path, write_logs):
    logs = write_logs(
        tmp_path / "logs.parquet",
        {"segment": ["core"] * 3, "confidence": [0.5, 1.5, None], "correct": [1, 0, 2]},
    )
    assert problems(tmp_path, logs) == [
        f'{logs} row 2, column "confidence": got 1.5; expected a number in [0, 1]',
        f'{logs} row 3, column "confidence": empty; expected a number in [0, 1]',
        f'{logs} row 3, column "correct": got 2; expected true/false or 1/0',
    ]


def test_many_bad_rows_are_capped_at_twenty_lines_and_counted(tmp_path, write_logs):
    columns = {"segment": ["core"] * 40, "confidence": [2.0] * 30 + [0.5] * 10}
    logs = write_logs(tmp_path / "logs.csv", {**columns, "correct": [1, 0] * 20})
    lines = problems(tmp_path, logs)
    assert len(lines) == 21
    assert lines[19] == f'{logs} row 20, column "confidence": got 2.0; expected a number in [0, 1]'
    assert lines[20] == f'{logs}: and 10 more rows with a bad "confidence" value'


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("logs.csv", "", "empty file; expected one row per logged student answer"),
        ("logs.jsonl", "", "empty file; expected one row per logged student answer"),
        (
            "logs.csv",
            "segment,confidence,correct\n",
            "no data rows; expected one row per logged student answer",
        ),  # fmt: skip
        ("logs.txt", "a", 'got extension ".txt"; expected .csv, .parquet or .jsonl'),
        (
            "logs.jsonl",
            '{"segment": "core", "confidence": 0.5, "correct": true}\n{"segment": \n',
            'line 2: got {"segment":; expected a JSON object (Expecting value)',
        ),
        (
            "logs.csv",
            "segment,confidence,correct\ncore,0.5,1\ncore,0.5,1,extra\n",
            "not a readable CSV file (row 2 has 4 fields, the header 3)",
        ),
        ("logs.parquet", "not parquet at all", "not a readable PARQUET file"),
    ],
)
def test_unreadable_files_are_one_line(tmp_path, name, text, expected):
    logs = write_text(tmp_path / name, text)
    [line] = problems(tmp_path, logs)
    assert line.startswith(f"{logs}: {expected}")


def test_a_missing_file_is_one_line(tmp_path):
    result = calibrate(tmp_path / "nope.csv", tmp_path / "out")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'nope.csv'}: no such file; expected a CSV, Parquet or JSONL log file"
    ]


def test_labels_that_become_the_same_segment_name_are_refused(tmp_path, synthetic_logs, write_logs):
    columns = synthetic_logs(0, {"rare cases": (50, 0.8), "rare_cases": (50, 0.8)})
    logs = write_logs(tmp_path / "logs.csv", columns)
    assert problems(tmp_path, logs) == [
        f'{logs}: segments "rare cases", "rare_cases" all become "rare_cases" as scenario names '
        "(letters, digits, '_' and '-'); rename them in the logs"
    ]


def test_a_file_without_wrong_answers_is_refused_and_writes_nothing_in_results(
    tmp_path, monkeypatch, write_logs
):
    logs = write_logs(
        tmp_path / "logs.csv",
        {"segment": ["core"] * 3, "confidence": [0.7, 0.8, 0.9], "correct": [True] * 3},
    )
    monkeypatch.chdir(tmp_path)
    result = calibrate(logs, None)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{logs}: no wrong answers with two or more distinct confidences in the whole file; "
        "confidence_wrong cannot be fitted"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs.csv"]  # no results/
