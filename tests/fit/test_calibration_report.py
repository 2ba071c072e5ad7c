"""`distill-sim calibrate` end to end: the same answer from CSV, Parquet and JSONL, a fragment
the scenario loader accepts once merged, the empirical sample files, and nothing half-written."""

import json
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import tomli_w
from typer.testing import CliRunner

from sim.cli import app
from sim.fit import calibration_report
from sim.fit.calibration_report import SIDES
from sim.scenario.distributions import frozen
from sim.scenario.loading import load_scenario, read_toml

FLAGS = ["--segment-column", "segment", "--confidence-column", "confidence"]
FLAGS += ["--correct-column", "correct"]
# ticket-triage's segments, with its mix and accuracies
MIX = {"core": (9300, 0.965), "rare_categories": (500, 0.86), "garbled": (200, 0.6)}


def calibrate(logs: Path, *extra: str):
    return CliRunner().invoke(app, ["calibrate", str(logs), *FLAGS, *extra])


def calibrated(logs: Path, out: Path) -> dict:
    result = calibrate(logs, "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fragment(out: Path) -> dict:
    return tomllib.loads((out / "calibration.toml").read_text(encoding="utf-8"))


def test_csv_parquet_and_jsonl_give_the_same_fragment(tmp_path, synthetic_logs, write_logs):
    columns = synthetic_logs(0, MIX)
    fragments = []
    for suffix in (".csv", ".parquet", ".jsonl"):
        out = tmp_path / f"out{suffix}"
        result = calibrated(write_logs(tmp_path / f"logs{suffix}", columns), out)
        assert result["rows"] == 10_000
        assert sorted(p.name for p in out.iterdir()) == [
            "calibration.json",
            "calibration.toml",
            "manifest.json",
            "reliability.png",
        ]
        assert (out / "reliability.png").read_bytes().startswith(b"\x89PNG")
        fragments.append(fragment(out))
    assert fragments[0] == fragments[1] == fragments[2]
    core = fragments[0]["segments"][0]
    assert core["name"] == "core" and core["weight"] == 0.93
    right = np.array(columns["correct"][:9300])
    assert core["student_accuracy"] == pytest.approx(right.mean(), rel=1e-5)
    # Beta(9, 1.5) and Beta(3, 3) generated them: within 4 standard errors
    fit = result["segments"][0]["confidence_correct"]["beta"]
    assert abs(fit["a"] - 9) < 4 * fit["a_se"] and abs(fit["b"] - 1.5) < 4 * fit["b_se"]


def test_the_table_names_each_segment_and_where_the_files_went(
    tmp_path, synthetic_logs, write_logs
):
    out = tmp_path / "out"
    result = calibrate(write_logs(tmp_path / "logs.csv", synthetic_logs(1, MIX)), "--out", str(out))
    assert result.exit_code == 0, result.output
    for text in ("rare_categories", "garbled", "all rows", f"wrote {out}", "ECE", "AUROC"):
        assert text in result.stdout


def test_the_fragment_merged_into_a_bundled_scenario_loads(tmp_path, synthetic_logs, write_logs):
    out = tmp_path / "out"
    calibrated(write_logs(tmp_path / "logs.csv", synthetic_logs(2, MIX)), out)
    fitted = {s["name"]: s for s in fragment(out)["segments"]}
    dists = [s[f"confidence_{side}"]["dist"] for s in fitted.values() for side in SIDES]
    assert set(dists) <= {"beta", "logit_normal"}
    raw = read_toml("scenarios/ticket-triage.toml")
    for segment in raw["segments"]:
        segment.update(fitted[segment["name"]])
    merged = tmp_path / "merged.toml"
    merged.write_text(tomli_w.dumps(raw), encoding="utf-8")
    scenario = load_scenario(merged)
    for segment in scenario.segments:
        want = fitted[segment.name]
        assert segment.weight == want["weight"]
        assert segment.student_accuracy == want["student_accuracy"]
        assert segment.confidence_correct.model_dump() == want["confidence_correct"]
        assert segment.confidence_wrong.model_dump() == want["confidence_wrong"]


def test_an_empirical_choice_writes_its_sample_next_to_the_fragment(tmp_path, write_logs):
    rng = np.random.default_rng(3)
    n = 3000
    correct = rng.random(n) < 0.8
    # two humps: neither a beta nor a logit-normal
    humps = np.where(rng.random(n) < 0.5, rng.beta(30, 70, n), rng.beta(90, 10, n))
    confidence = np.where(correct, humps, rng.beta(3, 3, n))
    columns = {"segment": ["chat"] * n, "confidence": confidence.tolist(), "correct": correct}
    out = tmp_path / "out"
    result = calibrated(write_logs(tmp_path / "logs.csv", columns), out)
    [entry] = fragment(out)["segments"]
    assert entry["confidence_correct"] == {
        "dist": "empirical",
        "path": "confidence-chat-correct.csv",
        "column": "confidence",
    }
    assert result["segments"][0]["confidence_correct"]["chosen"] == "empirical"
    sample = pl.read_csv(out / "confidence-chat-correct.csv").get_column("confidence").to_numpy()
    p = np.linspace(0, 1, 201)
    np.testing.assert_array_equal(np.quantile(sample, p), np.quantile(confidence[correct], p))
    # a scenario saved next to the fragment loads the sample as its confidence distribution
    raw = read_toml("scenarios/ticket-triage.toml")
    raw["segments"] = [{**raw["segments"][0], **entry}]
    (out / "merged.toml").write_text(tomli_w.dumps(raw), encoding="utf-8")
    loaded = load_scenario(out / "merged.toml").segments[0].confidence_correct
    assert loaded.path == str(out / "confidence-chat-correct.csv")
    drawn = frozen(loaded).ppf(p)
    np.testing.assert_allclose(drawn, np.quantile(confidence[correct], p), rtol=0, atol=1e-12)


def test_a_segment_without_wrong_answers_says_its_fit_is_pooled(
    tmp_path, synthetic_logs, write_logs
):
    columns = synthetic_logs(4, {"core": (2000, 0.9)})
    columns["segment"] += ["easy"] * 5
    columns["confidence"] += [0.91, 0.93, 0.95, 0.97, 0.99]
    columns["correct"] += [True] * 5
    out = tmp_path / "out"
    result = calibrate(write_logs(tmp_path / "logs.csv", columns), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "easy: too few wrong answers to fit confidence_wrong" in result.stdout
    text = (out / "calibration.toml").read_text(encoding="utf-8")
    wrong = columns["correct"].count(False)
    assert f"from all segments' {wrong} wrong answers" in text
    assert "(this segment has too few to fit; see the README)" in text
    [_, easy] = fragment(out)["segments"]
    assert easy["student_accuracy"] == 1.0


def test_the_default_directory_is_under_results_named_by_the_file(
    tmp_path, monkeypatch, synthetic_logs, write_logs
):
    logs = write_logs(tmp_path / "support logs.csv", synthetic_logs(5, {"core": (500, 0.9)}))
    monkeypatch.chdir(tmp_path)
    result = calibrate(logs, "--json")
    assert result.exit_code == 0, result.output
    directory = Path(json.loads(result.stdout)["directory"])
    assert directory.parent == Path("results/support_logs")
    assert directory.name.endswith("-calibrate") and (directory / "calibration.toml").is_file()


def test_a_crash_while_writing_leaves_nothing_behind(
    tmp_path, monkeypatch, synthetic_logs, write_logs
):
    def broken(_panels):
        # drawn inside the staging directory, after the text files are written there
        raise RuntimeError("disk full")

    logs = write_logs(tmp_path / "logs.csv", synthetic_logs(6, {"core": (500, 0.9)}))
    monkeypatch.setattr(calibration_report, "reliability_figure", broken)
    result = calibrate(logs, "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: RuntimeError: disk full"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs.csv"]


def test_the_bundled_example_log_gives_back_ticket_triage_within_standard_errors(tmp_path):
    result = calibrated(Path("scenarios/logs/ticket-triage-student.csv"), tmp_path / "out")
    scenario = load_scenario("scenarios/ticket-triage.toml")
    for planned, fitted in zip(scenario.segments, result["segments"], strict=True):
        assert fitted["name"] == planned.name
        se = fitted["student_accuracy_se"]
        assert abs(fitted["student_accuracy"] - planned.student_accuracy) < 4 * se
        for side in SIDES:
            truth = getattr(planned, f"confidence_{side}")
            beta = fitted[f"confidence_{side}"]["beta"]
            assert abs(beta["a"] - truth.a) < 4 * beta["a_se"], (planned.name, side)
            assert abs(beta["b"] - truth.b) < 4 * beta["b_se"], (planned.name, side)


def test_help_names_the_segments_table_literally():
    result = CliRunner().invoke(app, ["calibrate", "--help"])
    assert result.exit_code == 0 and "[[segments]]" in result.stdout
