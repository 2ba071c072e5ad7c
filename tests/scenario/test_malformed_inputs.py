"""The malformed-input corpus for flags, scenario files, `--set`/`--grid`/`--vary` and data files
(traces, empirical samples, logs): each case exits 2 with one literal line per problem naming the
field or flag and the value as given, and writes nothing (see tests/malformed.py)."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.malformed import SCENARIOS, Case, check

TRIAGE = "{scenarios}/ticket-triage.toml"
SUPPORT = "{scenarios}/support-replies.toml"
LAUNCH = "{scenarios}/new-product-launch.toml"

# the bundled replay scenario, reading `trace.csv` (or the given file) beside it
REPLAY = (SCENARIOS / "azure-conv-replay.toml").read_text(encoding="utf-8")


def replay(path: str = "trace.csv", fmt: str = "csv", time_unit: str = "s") -> str:
    text = REPLAY.replace('"traces/azure-llm-2023-conv.csv"', f'"{path}"')
    text = text.replace('format = "csv"', f'format = "{fmt}"')
    text = text.replace('time_column = "TIMESTAMP"', 'time_column = "t"')
    text = text.replace('time_unit = "datetime"', f'time_unit = "{time_unit}"')
    text = text.replace('"ContextTokens"', '"tin"').replace('"GeneratedTokens"', '"tout"')
    return text


# a scenario whose student service time is an empirical sample in `sample.<ext>`, column "s"
def sampled(ext: str = "csv") -> str:
    text = (SCENARIOS / "ticket-triage.toml").read_text(encoding="utf-8")
    return re.sub(
        r"(?m)^service_s = .*$",
        f'service_s = {{ dist = "empirical", path = "sample.{ext}", column = "s" }}',
        text,
        count=1,
    )


def trace_csv(*rows: str) -> str:
    return "t,tin,tout\n" + "".join(f"{row}\n" for row in rows)


GOOD = ["0,10,20", "1,11,21", "2,12,22"]
GZIP = gzip.compress(trace_csv(*GOOD).encode(), mtime=0)


def parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"t": [0.0, 1.0], "tin": [1, 2], "tout": [3, 4]}), sink)
    return sink.getvalue()


LOGS = "--segment-column", "segment", "--confidence-column", "confidence", "--correct-column"
CALIBRATE = ["calibrate", "logs.csv", *LOGS, "correct"]
FIT = ["fit-traffic", "trace.csv", "--time-column", "t", "--time-unit", "s"]


def _folder(name: str):
    def make(directory: Path) -> None:
        (directory / name).mkdir()

    return make


CASES = [
    # --- flags: click's parse errors in the house format, with the value as given -----------
    Case("seed-not-integer", ["run", TRIAGE, "--seed", "abc"],
         ['--seed: got "abc"; expected an integer'], lines=1),
    Case("seed-equals-not-integer", ["run", TRIAGE, "--seed=abc"],
         ['--seed: got "abc"; expected an integer'], lines=1),
    Case("replications-not-integer", ["compare", TRIAGE, "--replications", "x"],
         ['--replications: got "x"; expected an integer'], lines=1),
    Case("calls-sample-not-number", ["run", TRIAGE, "--calls-sample", "lots"],
         ['--calls-sample: got "lots"; expected a number'], lines=1),
    Case("workers-not-integer", ["sweep", TRIAGE, "--workers", "1.5"],
         ['--workers: got "1.5"; expected an integer'], lines=1),
    Case("breakeven-calls-not-number", ["breakeven", "--calls", "many"],
         ['--calls: got "many"; expected a number'], lines=1),
    Case("steps-not-integer", ["stress", TRIAGE, "--vary", "router.threshold=0.5:0.9",
                               "--target", "error_rate<0.1", "--steps", "ten"],
         ['--steps: got "ten"; expected an integer'], lines=1),
    Case("missing-file-argument", ["run"], ["FILE: missing"], lines=1),
    Case("missing-required-option", ["stress", TRIAGE, "--target", "error_rate<0.1"],
         ["--vary: missing"], lines=1),
    Case("calibrate-missing-option", ["calibrate", "logs.csv", "--segment-column", "s"],
         ["--confidence-column: missing"], lines=1),
    Case("unknown-option", ["run", TRIAGE, "--sed", "1"],
         ["--sed: unknown option (did you mean '--seed'?)"], lines=1),
    Case("unknown-command", ["rn", TRIAGE],
         ['command: got "rn" (did you mean \'run\'?); expected one of '], lines=1),
    Case("option-without-value", ["run", TRIAGE, "--seed"],
         ["--seed: missing its value; expected --seed VALUE"], lines=1),
    Case("extra-argument", ["validate", TRIAGE, "other.toml"],
         ['arguments: got "other.toml" extra'], lines=1),
    Case("engine-unknown", ["run", TRIAGE, "--engine", "turbo"],
         ["--engine: got 'turbo'; expected fast or reference"], lines=1),
    Case("time-unit-unknown", [*FIT[:4], "--time-unit", "h"],
         ['--time-unit: got "h"; expected datetime, s or ms'],
         files={"trace.csv": trace_csv(*GOOD)}, lines=1),
    # --- --set, --grid and --vary ----------------------------------------------------------
    Case("grid-emoji-code-printed-literally",
         ["compare", TRIAGE, "--grid", "router.threshold=a:b:3"],
         ['--grid router.threshold: got "a:b:3"; expected'], lines=1),
    Case("set-reaches-concept-drift", ["validate", SUPPORT, "--set",
                                        "drift[1].stale_student_accuracy=1.5"],
         ["drift[1].stale_student_accuracy: got 1.5; expected a number in [0, 1]"], lines=1),
    Case("set-concept-drift-typo", ["validate", SUPPORT, "--set",
                                     "drift[1].stale_student_accurac=0.3"],
         ["--set drift[1].stale_student_accurac: unknown field 'stale_student_accurac' "
          "(did you mean 'stale_student_accuracy'?)"], lines=1),
    Case("set-random-walk-drift", ["validate", SUPPORT, "--set",
                                    "drift[2].volatility_per_month=-1"],
         ["drift[2].volatility_per_month: got -1"], lines=1),
    Case("grid-reaches-concept-drift", ["compare", SUPPORT, "--grid",
                                         "drift[1].stale_student_accurac=0.1,0.2"],
         ["--grid drift[1].stale_student_accurac: unknown field"], lines=1),
    Case("set-without-equals", ["validate", TRIAGE, "--set", "router.threshold"],
         ["--set router.threshold: no '='; expected path=value"], lines=1),
    Case("set-index-out-of-range", ["validate", TRIAGE, "--set", "segments[9].weight=0.1"],
         ["--set segments[9].weight: got index 9; expected an index from 0 to 2"], lines=1),
    Case("set-horizon-before-drift", ["validate", SUPPORT, "--set", "scenario.horizon_days=30"],
         ["drift[1].start_day: got 75; the drift starts at or after the horizon's end (day 30); "
          "expected a start_day below horizon_days"]),
    Case("set-horizon-before-launch", ["validate", LAUNCH, "--set", "scenario.horizon_days=30"],
         ["drift[0].start_day: got 90; the drift starts at or after the horizon's end (day 30)"],
         lines=1),
    Case("vary-not-a-range", ["stress", TRIAGE, "--vary", "router.threshold=zz",
                              "--target", "error_rate<0.1"],
         ['--vary router.threshold: got "zz"; expected lo:hi'], lines=1),
    # --- scenario files -----------------------------------------------------------------------
    Case("scenario-is-a-folder", ["validate", "folder.toml"],
         ["folder.toml: is a folder; expected a scenario .toml file"],
         setup=_folder("folder.toml"), lines=1),
    Case("scenario-missing", ["run", "nope.toml"],
         ["nope.toml: no such file; expected a scenario .toml file"], lines=1),
    Case("scenario-malformed-toml", ["validate", "s.toml"],
         ["s.toml: malformed TOML at line 2"], files={"s.toml": "[scenario]\nname = \n"}, lines=1),
    Case("scenario-unknown-key", ["validate", "s.toml"],
         ["traffic.calls_per_dya: unknown key (did you mean 'calls_per_day'?)"],
         files={"s.toml": (SCENARIOS / "ticket-triage.toml").read_text().replace(
             "calls_per_day", "calls_per_dya", 1)}, lines=1),
    Case("scenario-wrong-type", ["validate", "s.toml"],
         ['traffic.calls_per_day: got "many"; expected a number'],
         files={"s.toml": re.sub(r"(?m)^calls_per_day = .*$", 'calls_per_day = "many"',
                                 (SCENARIOS / "ticket-triage.toml").read_text(), count=1)},
         lines=1),
    Case("scenario-drift-kind", ["validate", "s.toml"],
         ['drift[0].kind: got "sideways"'],
         files={"s.toml": (SCENARIOS / "ticket-triage.toml").read_text()
                + '\n[[drift]]\nkind = "sideways"\nstart_day = 1\n'}, lines=1),
    # --- traces in a scenario ------------------------------------------------------------------
    Case("trace-nan-token", ["validate", "s.toml"],
         ["trace.csv: data row 2, column 'tin': got NaN; expected a finite token count ≥ 0"],
         files={"s.toml": replay(), "trace.csv": trace_csv("0,10,20", "1,NaN,21", "2,12,22")},
         lines=1),
    Case("trace-1e400-token", ["run", "s.toml"],
         ["trace.csv: data row 3, column 'tout': got 1e400; expected a finite token count ≥ 0"],
         files={"s.toml": replay(), "trace.csv": trace_csv("0,10,20", "1,11,21", "2,12,1e400")},
         lines=1),
    Case("trace-inf-token", ["validate", "s.toml"],
         ["column 'tin': got inf; expected a finite token count"],
         files={"s.toml": replay(), "trace.csv": trace_csv("0,inf,20", "1,11,21")}, lines=1),
    Case("trace-empty-token", ["validate", "s.toml"],
         ["trace.csv: data row 2, column 'tin': got an empty cell; expected"],
         files={"s.toml": replay(), "trace.csv": trace_csv("0,10,20", "1,,21", "2,1,2")},
         lines=1),
    Case("trace-inf-time", ["validate", "s.toml"],
         ["trace.csv: data row 2, column 't': got inf; expected a number of seconds"],
         files={"s.toml": replay(), "trace.csv": trace_csv("0,10,20", "inf,1,21", "2,1,2")},
         lines=1),
    Case("trace-gzip-named-csv-run", ["run", "s.toml"],
         ["trace.csv: got a gzip-compressed file; expected CSV text (decompress it first)"],
         files={"s.toml": replay(), "trace.csv": GZIP}, lines=1),
    Case("trace-gzip-named-csv-validate", ["validate", "s.toml"],
         ["got a gzip-compressed file; expected CSV text"],
         files={"s.toml": replay(), "trace.csv": GZIP}, lines=1),
    Case("trace-parquet-named-csv", ["validate", "s.toml"],
         ["trace.csv: got a Parquet file; expected CSV text"],
         files={"s.toml": replay(), "trace.csv": parquet_bytes()}, lines=1),
    Case("trace-jsonl-line-not-object", ["validate", "s.toml"],
         ["trace.jsonl: line 2: got [1, 2, 3]; expected a JSON object"],
         files={"s.toml": replay("trace.jsonl", "jsonl"),
                "trace.jsonl": '{"t": 0, "tin": 1, "tout": 2}\n[1, 2, 3]\n'}, lines=1),
    Case("trace-is-a-folder", ["validate", "s.toml"],
         ["traffic.trace.path: ", "trace.csv: is a folder; expected a CSV, Parquet or JSONL trace"],
         files={"s.toml": replay()}, setup=_folder("trace.csv"), lines=1),
    # --- fit-traffic ---------------------------------------------------------------------------
    Case("fit-nan-token", [*FIT, "--tokens-in-column", "tin", "--json"],
         ["trace.csv: data row 2, column 'tin': got nan; expected a finite token count ≥ 0"],
         files={"trace.csv": trace_csv("0,10,20", "1,nan,21", "2,12,22")}, lines=1),
    Case("fit-1e400-token", [*FIT, "--tokens-out-column", "tout", "--json"],
         ["column 'tout': got 1e400; expected a finite token count"],
         files={"trace.csv": trace_csv("0,10,1e400", "1,11,21", "2,12,22")}, lines=1),
    Case("fit-gzip-named-csv", FIT,
         ["trace.csv: got a gzip-compressed file; expected CSV text"],
         files={"trace.csv": GZIP}, lines=1),
    Case("fit-binary-named-csv", FIT,
         ["trace.csv: got binary data; expected CSV text"],
         files={"trace.csv": b"\x00\x01\x02\xff\xfe" * 10}, lines=1),
    Case("fit-jsonl-line-not-object", ["fit-traffic", "trace.jsonl", "--time-column", "t",
                                       "--time-unit", "s"],
         ["trace.jsonl: line 2: got 7; expected a JSON object"],
         files={"trace.jsonl": '{"t": 0, "tin": 1}\n7\n{"t": 2, "tin": 1}\n'}, lines=1),
    Case("fit-jsonl-1e400", ["fit-traffic", "trace.jsonl", "--time-column", "t",
                             "--time-unit", "s", "--json"],
         ["trace.jsonl: line 2: got 1e400; expected a finite number"],
         files={"trace.jsonl": '{"t": 0, "tin": 1}\n{"t": 1, "tin": 1e400}\n'}, lines=1),
    Case("fit-trace-is-a-folder", FIT, ["TRACE: trace.csv: is a folder"],
         setup=_folder("trace.csv"), lines=1),
    Case("fit-missing-column", [*FIT, "--tokens-in-column", "tokens"],
         ['--tokens-in-column: got "tokens"'], files={"trace.csv": trace_csv(*GOOD)}, lines=1),
    # --- empirical samples ----------------------------------------------------------------------
    Case("sample-nan", ["validate", "s.toml"],
         ["student.service_s: ",
          "sample.csv data row 2, column s: got NaN; expected a finite number"],
         files={"s.toml": sampled(), "sample.csv": "s\n0.1\nNaN\n0.3\n"}, lines=1),
    Case("sample-1e400", ["validate", "s.toml"],
         ["sample.csv data row 1, column s: got 1e400; expected a finite number"],
         files={"s.toml": sampled(), "sample.csv": "s\n1e400\n0.2\n"}, lines=1),
    Case("sample-gzip-named-csv", ["validate", "s.toml"],
         ["sample.csv: got a gzip-compressed file; expected CSV text"],
         files={"s.toml": sampled(), "sample.csv": gzip.compress(b"s\n0.1\n", mtime=0)}, lines=1),
    Case("sample-jsonl-line-not-object", ["validate", "s.toml"],
         ["sample.jsonl: line 2: got \"text\"; expected a JSON object"],
         files={"s.toml": sampled("jsonl"), "sample.jsonl": '{"s": 0.1}\n"text"\n'}, lines=1),
    # --- logs (calibrate) -----------------------------------------------------------------------
    Case("logs-jsonl-line-not-object", ["calibrate", "logs.jsonl", *LOGS, "correct"],
         ["logs.jsonl: line 2: got [1]; expected a JSON object"],
         files={"logs.jsonl": '{"segment": "a", "confidence": 0.5, "correct": 1}\n[1]\n'},
         lines=1),
    Case("logs-jsonl-1e400", ["calibrate", "logs.jsonl", *LOGS, "correct"],
         ["logs.jsonl: line 2: got 1e400; expected a finite number"],
         files={"logs.jsonl": '{"segment": "a", "confidence": 0.5, "correct": 1}\n'
                              '{"segment": "a", "confidence": 1e400, "correct": 1}\n'}, lines=1),
    Case("logs-gzip-named-csv", CALIBRATE,
         ["logs.csv: got a gzip-compressed file; expected CSV text"],
         files={"logs.csv": gzip.compress(b"segment,confidence,correct\na,0.5,1\n", mtime=0)},
         lines=1),
    Case("logs-is-a-folder", CALIBRATE, ["logs.csv: is a folder; expected a CSV"],
         setup=_folder("logs.csv"), lines=1),
    Case("logs-nan-confidence", CALIBRATE,
         ['logs.csv row 2, column "confidence": got NaN; expected a number in [0, 1]'],
         files={"logs.csv": "segment,confidence,correct\na,0.5,1\na,NaN,0\n"}, lines=1),
    Case("logs-missing-column", ["calibrate", "logs.csv", *LOGS, "right"],
         ['logs.csv: --correct-column: no column "right"'],
         files={"logs.csv": "segment,confidence,correct\na,0.5,1\n"}, lines=1),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 35
    assert len({c.id for c in CASES}) == len(CASES)
