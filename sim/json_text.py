"""JSON output that is always JSON: json.dumps writes NaN and Infinity, which no JSON parser reads.

Every number that is not finite becomes null, and a dict says which fields it nulled in
`NULLED` ("not_finite_as_null"), so a reader can tell "no value" from "a value JSON cannot hold".
"""

from __future__ import annotations

import json
import math
from typing import Any

NULLED = "not_finite_as_null"


def dumps(value: Any, **options: Any) -> str:
    """`json.dumps(value, **options)` with non-finite numbers as null (named under NULLED when
    the value is a dict); allow_nan=False proves nothing else slipped through."""
    found: list[str] = []
    clean = _finite(value, "", found)
    if found and isinstance(clean, dict):
        clean = {**clean, NULLED: found}
    return json.dumps(clean, allow_nan=False, **options)


def _finite(value: Any, where: str, found: list[str]) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        found.append(where or "value")
        return None
    if isinstance(value, dict):
        return {k: _finite(v, f"{where}.{k}" if where else str(k), found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    return value
