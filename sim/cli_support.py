"""What every command shares: the common options, the --out checks, and one way to fail.

A command body runs inside `guarded`, which turns `BadInput` into one line per problem and exit
2, a crash into one line and exit 1, and Ctrl-C on the real command line into an immediate exit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sim.problems import BadInput

# no emoji codes (":b:" in "a:b:3" became a symbol), markup or highlighting in user text
err = Console(stderr=True, emoji=False, markup=False, highlight=False)

EXIT_AT_ONCE = False  # set by the real command line only (sim.cli.main), never in-process

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field: path=value in TOML syntax (repeatable)."),
]

SeedOption = Annotated[int | None, typer.Option(help="Override scenario.seed.")]
ReplicationsOption = Annotated[int | None, typer.Option(help="Override scenario.replications.")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace --out when it holds a previous result of distill-sim (never other files).",
    ),
]
AllowLargeOption = Annotated[
    bool,
    typer.Option(
        "--allow-large",
        help="Run even when the work estimate exceeds a limit (10 billion calls, 10 million "
        "ticks, 100,000 retrainings, half the machine's memory).",
    ),
]


def out_problems(out: Path | None, force: bool) -> list[str]:
    """--out checked before any work: a folder that is new, empty, or (with --force) a previous
    result; without --out, the results root must at least be a folder or creatable."""
    from sim import output_dir
    from sim.results import RESULTS_ROOT

    if out is not None:
        return output_dir.directory_problems(out, force)
    try:
        output_dir.check_root(RESULTS_ROOT)
    except BadInput as bad:
        return bad.problems
    return []


def check_default(out: Path | None, directory: Path) -> None:
    """The default folder (known once the scenario is loaded) checked before the work."""
    from sim import output_dir

    if out is None:
        output_dir.check_directory(directory, False, default=True)


def say(line: str) -> None:
    """One line to stderr, printed literally."""
    err.print(line, markup=False, highlight=False, soft_wrap=True)


def warn_at_load(scenario: Any) -> None:
    """What a loaded scenario already gets wrong without being bad input (an alert threshold the
    day-0 traffic is over), one `warning:` line each on stderr, before any work."""
    from sim.analysis.monitoring import threshold_warnings

    for line in threshold_warnings(scenario):
        say(f"warning: {line}")


def fail(problems: list[str]) -> None:
    """Print each problem on its own line and exit 2."""
    for line in problems:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def guarded(fn: Callable[[], Any]) -> Any:
    """Run a command body: bad input exits 2 with one line per problem, a crash exits 1."""
    try:
        return fn()
    except BadInput as bad:
        fail(bad.problems)
    except KeyboardInterrupt:
        if EXIT_AT_ONCE:
            # Ctrl-C: every staging folder is already removed (the writers clean up on any
            # exception) and the threads stopped; the interpreter's own teardown (numba,
            # polars, matplotlib) would take longer than the second a user waits
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise
    except typer.Exit:
        raise
    except Exception as crash:  # a bug, not bad input: say so in one line and exit 1
        err.print(f"error: {type(crash).__name__}: {crash}", markup=False, highlight=False)
        raise typer.Exit(1) from None


def override_problems(seed: int | None, replications: int | None) -> list[str]:
    """--seed and --replications checked: one line per bad value."""
    problems = []
    if seed is not None and seed < 0:
        problems.append(f"--seed: got {seed}; expected an integer ≥ 0")
    if replications is not None and replications < 1:
        problems.append(f"--replications: got {replications}; expected an integer ≥ 1")
    return problems


def override_list(set_: list[str] | None, seed: int | None, replications: int | None) -> list[str]:
    """--set items followed by --seed and --replications as overrides."""
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"scenario.seed={seed}")
    if replications is not None:
        overrides.append(f"scenario.replications={replications}")
    return overrides


def checked_overrides(
    set_: list[str] | None, seed: int | None, replications: int | None
) -> list[str]:
    """--set items followed by --seed and --replications as overrides, each checked."""
    raise_problems(override_problems(seed, replications))
    return override_list(set_, seed, replications)


def raise_problems(problems: list[str]) -> None:
    """Raise BadInput when there is any problem."""
    if problems:
        raise BadInput(problems)
