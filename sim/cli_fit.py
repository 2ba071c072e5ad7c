"""The `fit-traffic` command: the `[traffic]` table fitted to a recorded trace."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sim import json_text
from sim.cli_support import guarded


def fit_traffic(
    trace: Annotated[Path, typer.Argument(help="CSV, Parquet or JSONL trace of calls.")],
    time_column: Annotated[
        str | None, typer.Option(help="Arrival time column (default: the one datetime column).")
    ] = None,
    time_unit: Annotated[
        str | None, typer.Option(help="datetime, s or ms (default: datetime if it parses).")
    ] = None,
    tokens_in_column: Annotated[
        str | None, typer.Option(help="Prompt tokens column (default: guessed from names).")
    ] = None,
    tokens_out_column: Annotated[
        str | None, typer.Option(help="Completion tokens column (default: guessed).")
    ] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="csv, parquet or jsonl (default: extension).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the TOML fragment to this file.")] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print only the estimates as JSON.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace --out when it is a fragment fit-traffic wrote."),
    ] = False,
) -> None:
    """Fit the traffic table to a trace: rate, daily profile, burstiness, token lengths."""

    def body() -> None:
        import dataclasses

        from sim import output_dir
        from sim.fit import fragment
        from sim.fit.traffic import fit

        if out is not None:
            output_dir.check_file(out, force)
        spec = fragment.resolve_spec(
            trace, format_, time_column, time_unit, tokens_in_column, tokens_out_column
        )
        result = fit(spec)
        text = fragment.fragment(result, spec, out)
        if out is not None:
            fragment.write_atomically(out, text, force)
        if json_:
            sys.stdout.write(json_text.dumps(dataclasses.asdict(result), indent=2) + "\n")
        else:
            fragment.print_fit(result, text, Console(emoji=False))
            if out is not None:
                print(f"fragment: {out}")

    guarded(body)
