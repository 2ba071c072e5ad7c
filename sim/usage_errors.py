"""Command-line usage errors (a bad flag value, a missing argument, an unknown option) in the
house format: one line, "<flag>: got <value as given>; expected <what>", exit 2.

Click parses the command line before any command runs, so its errors never reach the commands'
BadInput handling; by default typer draws them in a box without the value. `UsageGroup` is the
app's click group: it runs click in non-standalone mode and turns its exceptions into lines.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

from typer.core import TyperGroup

from sim.problems import did_you_mean, show

# What a type named in a parse error accepts, for the "expected" part of a line.
_EXPECTED = {"integer": "an integer", "number": "a number", "float": "a number"}
_EXPECTED |= {"boolean": "true or false"}


class UsageGroup(TyperGroup):
    """The app's command group, printing click's usage errors as one house-format line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except Exception as error:
            kinds = _kinds(error)
            if not standalone_mode or not kinds & {"ClickException", "Abort"}:
                raise
            if "NoArgsIsHelpError" in kinds:  # `distill-sim` alone: the help, as click does
                error.show()  # type: ignore[attr-defined]
            elif "Abort" in kinds:
                sys.stderr.write("aborted\n")
                sys.exit(1)
            else:
                sys.stderr.write(line(error, argv) + "\n")
            sys.exit(getattr(error, "exit_code", 2))
        if not standalone_mode:
            return code
        # non-standalone click returns typer.Exit's code, or the command's value (None)
        sys.exit(code if isinstance(code, int) else 0)


def _kinds(error: BaseException) -> set[str]:
    """The names of the error's classes (click's exceptions live in typer._click or click)."""
    return {cls.__name__ for cls in type(error).__mro__}


def line(error: Any, argv: list[str]) -> str:
    """A click usage error as one line naming the flag or argument and the value as given."""
    kinds = _kinds(error)
    if "NoSuchOption" in kinds:
        choices = sorted(error.possibilities or [])
        hint = did_you_mean(error.option_name, choices) if choices else ""
        return f"{error.option_name}: unknown option{hint}; expected an option listed by --help"
    if "BadOptionUsage" in kinds and getattr(error, "option_name", None):
        return f"{error.option_name}: missing its value; expected {error.option_name} VALUE"
    param = getattr(error, "param", None)
    if "MissingParameter" in kinds and param is not None:
        return f"{_name(param)}: missing; this is required (see --help)"
    message = " ".join(str(error.format_message()).split())
    if "BadParameter" in kinds and param is not None:
        given = _given(param, argv)
        got = f"got {show(given)}; " if given is not None else ""
        found = re.search(r"valid (integer|number|float|boolean)", message)
        expected = _EXPECTED[found[1]] if found else message[:1].lower() + message[1:]
        return f"{_name(param)}: {got}expected {expected}"
    if message.startswith("No such command"):
        word = message.split("'")[1] if "'" in message else message
        commands = sorted(getattr(error.ctx.command, "commands", {})) if error.ctx else []
        return f"command: got {show(word)}{did_you_mean(word, commands)}; expected one of " + (
            ", ".join(commands)
        )
    if message.startswith("Got unexpected extra argument"):
        found = re.search(r"\(([^()]*)\)$", message)
        extra = found[1] if found else message
        return f"arguments: got {show(extra)} extra; expected no more arguments (see --help)"
    return f"usage: {message}"


def _is_option(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "option" and bool(param.opts)


def _name(param: Any) -> str:
    if _is_option(param):
        return str(max(param.opts, key=len))
    return str(param.name).upper()


def _given(param: Any, argv: list[str]) -> str | None:
    """The value the user gave this option: after its flag, or as `--flag=value`."""
    if not _is_option(param):
        return None
    found = None
    for i, word in enumerate(argv):
        for opt in param.opts:
            if word == opt and i + 1 < len(argv):
                found = argv[i + 1]
            elif word.startswith(opt + "="):
                found = word[len(opt) + 1 :]
    return found  # the last one: click checks each; the last bad one is as good as any
