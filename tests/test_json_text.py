"""JSON output is JSON: non-finite numbers become null and are named."""

import json
import math

from sim import json_text


def test_non_finite_numbers_become_null_and_are_named():
    value = {"a": math.inf, "b": [1.0, math.nan, {"c": -math.inf}], "d": 2.5, "e": None}
    text = json_text.dumps(value, sort_keys=True)
    # a strict parser: Python's accepts NaN and Infinity unless told not to
    parsed = json.loads(text, parse_constant=lambda word: (_ for _ in ()).throw(ValueError(word)))
    assert parsed == {
        "a": None,
        "b": [1.0, None, {"c": None}],
        "d": 2.5,
        "e": None,
        "not_finite_as_null": ["a", "b[1]", "b[2].c"],
    }


def test_finite_values_are_written_as_json_dumps_writes_them():
    value = {"x": [1, 2.5, "s", True, None], "y": {"z": 1e308}}
    assert json_text.dumps(value, indent=2) == json.dumps(value, indent=2)
