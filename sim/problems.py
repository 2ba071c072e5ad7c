"""Bad input: a list of one-line problems, each naming the field path, the value and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


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
    """Render a user's value compactly for an error line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
