"""`compare --policy NAME:path=value`: a setting reaches the named policy only. The expectation is
the same policy run alone by `run --set` on the same seed (common random numbers make them equal,
byte for byte), and bad settings are one line each, exit 2, nothing written."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.batch import policy_settings
from sim.cli import app
from sim.problems import BadInput

ROOT = Path(__file__).resolve().parents[2]
CODE_FIX = ROOT / "scenarios" / "code-fix-verify.toml"  # router.threshold = 0.2 in the file
SHORT = ("--set", "scenario.horizon_days=0.3")
IDENTITY = ("variant", "dominated")


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def alone(out: Path, *sets: str) -> dict:
    args = [x for s in sets for x in ("--set", s)]
    result = cli("run", CODE_FIX, *SHORT, *args, "--json", "--out", out)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_setting_applies_to_its_policy_only(tmp_path):
    result = cli("compare", CODE_FIX, *SHORT, "--policy", "cascade",
                 "--policy", "verify:router.threshold=0.5", "--policy", "verify",
                 "--policy", "verify:router.deadline_s=120", "--json",
                 "--out", tmp_path / "c")  # fmt: skip
    assert result.exit_code == 0, result.output
    cascade, verify = json.loads(result.stdout)  # a policy named again is the same variant
    assert cascade["variant"] == {"policy": "cascade"}
    assert verify["variant"] == {
        "policy": "verify",
        "router.threshold": 0.5,
        "router.deadline_s": 120,
    }
    # each equals its policy run alone with exactly its own settings
    expected_verify = alone(
        tmp_path / "v", 'router.policy="verify"', "router.threshold=0.5", "router.deadline_s=120"
    )
    expected_cascade = alone(tmp_path / "c2", 'router.policy="cascade"')
    for got, expected in ((verify, expected_verify), (cascade, expected_cascade)):
        assert {k: v for k, v in got.items() if k not in IDENTITY} == expected

    # and the setting changed verify's behaviour: more calls below 0.5 than below the file's 0.2
    file_verify = alone(tmp_path / "v2", 'router.policy="verify"', "router.deadline_s=120")
    assert verify["fallback_rate"] > file_verify["fallback_rate"]
    assert verify["slo_attainment"] is not None and cascade["slo_attainment"] is None


def test_parse_merges_a_policys_settings_in_order():
    chosen = policy_settings.parse(
        [
            "cascade",
            "verify:router.threshold=0.5",
            "cascade:router.on_deadline=fail",
            'verify:verifier.on_flag="human"',
        ]  # fmt: skip
    )
    assert chosen == {
        "cascade": {"router.on_deadline": "fail"},
        "verify": {"router.threshold": 0.5, "verifier.on_flag": "human"},
    }
    assert list(chosen) == ["cascade", "verify"]


@pytest.mark.parametrize(
    ("option", "starts"),
    [
        ("verify:router.treshold=0.5", "--policy verify:router.treshold: unknown field 'treshold'"),
        ("verify:routr.threshold=0.5", "--policy verify:routr.threshold: unknown field 'routr'"),
        ("verify:segments.nope.weight=1", "--policy verify:segments.nope.weight: no entry named"),
        ("verify:router.threshold", '--policy verify: got "router.threshold"; expected NAME or'),
        ("verfy:router.threshold=0.5", "--policy: got \"verfy\" (did you mean 'verify'?)"),
        ("verify:router.policy=cascade", "--policy verify:router.policy: got a policy inside"),
        ("verify:router.threshold=2", "[policy verify] router.threshold: got 2; expected"),
        ("cascade:router.threshold=0.5", "--policy cascade:router.threshold: also a --grid axis"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path, option, starts):
    out = tmp_path / "never"
    axis = ["--grid", "router.threshold=0.3,0.6"] if option.startswith("cascade:") else []
    result = cli("compare", CODE_FIX, *SHORT, "--policy", "cascade", "--policy", option, *axis,
                 "--out", out)  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(starts), lines
    assert result.stdout == "" and not out.exists()


def test_parse_refuses_every_bad_item_at_once():
    with pytest.raises(BadInput) as bad:
        policy_settings.parse(["nope", "verify:", "cascade"])
    assert len(bad.value.problems) == 2
