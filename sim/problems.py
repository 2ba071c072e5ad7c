"""Bad input: a list of one-line problems, each naming the field path, the value and the fix."""

from __future__ import annotations

import datetime
import difflib
import json
import re
from collections.abc import Iterable

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class BadInput(Exception):
    """Raised for input a user can fix; the CLI prints one line per problem and exits 2."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix when a close choice exists, else ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def show(value: object) -> str:
    """Render a user's value compactly for an error line, in the TOML syntax they wrote it in."""
    text = toml_value(value)
    return text if len(text) <= 60 else text[:57] + "..."


def toml_value(value: object) -> str:
    """A value in TOML syntax, whole (lists and tables included)."""
    # A scenario is TOML, so `"four"`, `true` and `{ dist = "beta" }` read like the file, where
    # Python's repr would show 'four', True and {'dist': 'beta'}.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (f"{_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    return repr(value)


def _key(key: object) -> str:
    text = str(key)
    return text if _BARE_KEY.match(text) else json.dumps(text, ensure_ascii=False)
