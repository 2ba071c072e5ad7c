"""The batch commands: `sweep` (a grid or Latin hypercube, in parallel, resumable) and `stress`
(where along one field a target stops holding)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sim import json_text
from sim.cli_support import (
    AllowLargeOption,
    ForceOption,
    ReplicationsOption,
    SeedOption,
    SetOption,
    check_default,
    checked_overrides,
    err,
    guarded,
    out_problems,
    raise_problems,
    say,
)
from sim.problems import BadInput

WorkersOption = Annotated[
    int | None,
    typer.Option(help="Worker processes (default: every core; with --cluster local, its size)."),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(help="local (a Dask LocalCluster) or a Dask scheduler address tcp://host:port."),
]


def _interrupted(workers: Any, out: Path, what: str) -> None:
    """Ctrl-C: stop the workers at once; what is finished is already on disk."""
    workers.close(now=True)
    err.print(
        f"interrupted: finished runs are kept in {out}; run the same {what} with --out {out} "
        "to resume",
        markup=False,
        highlight=False,
    )
    raise typer.Exit(130)


def sweep(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            help="A field to vary: path=lo:hi:n or path=a,b,c; path=lo:hi with --random "
            "(repeatable)."
        ),
    ] = None,
    random: Annotated[
        int | None,
        typer.Option(help="K points of a Latin hypercube over the --grid ranges, not a grid."),
    ] = None,
    set_: SetOption = None,
    seed: SeedOption = None,
    replications: ReplicationsOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Sweep directory (default results/<name>/<id>-sweep); reuse to resume."),
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print only the sweep's summary as JSON.")
    ] = False,
    force: ForceOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """Every grid (or Latin hypercube) point × replication in parallel, resumable; sweep.parquet
    with one row per run and each point's means and 95% CIs, and sweep.png."""

    def body() -> None:
        from sim.analysis import workload
        from sim.batch import executors, progress
        from sim.batch import sweep as sweeping
        from sim.results import RESULTS_ROOT, new_run_directory

        overrides = checked_overrides(set_, seed, replications)
        executors.check(workers, cluster)
        if out is not None:
            sweeping.check_path(out, force)
        else:
            raise_problems(out_problems(None, force))
        plan = sweeping.plan(file, overrides, list(grid or []), random)
        workload.check(plan.scenarios, allow_large, say)
        directory = out or new_run_directory(RESULTS_ROOT, plan.name, "sweep")
        sweeping.check_out(directory, plan, force, default=out is None)
        pool = executors.start(workers, cluster)
        try:
            sweeping.start_out(directory, plan)
            todo = len(plan.runs) - sum(1 for run in plan.runs if sweeping.is_done(directory, run))
            with progress.tracker("sweep", todo) as advance:
                outcome = sweeping.execute(plan, directory, pool, advance)
        except KeyboardInterrupt:
            _interrupted(pool, directory, "sweep")
        finally:
            pool.close()
        table = sweeping.table(plan, directory)
        summary = sweeping.report(plan, directory, outcome, table)
        sweeping.save(directory, plan, table, summary)
        if json_:
            sys.stdout.write(json_text.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
        else:
            sweeping.print_summary(plan, summary)
        if outcome.errors:
            raise typer.Exit(1)

    guarded(body)


def stress(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    vary: Annotated[str, typer.Option(help="The field and its range: path=lo:hi.")],
    target: Annotated[
        str,
        typer.Option(help="METRIC OP NUMBER, e.g. savings_ratio>0 or break_even_day<=120."),
    ],
    set_: SetOption = None,
    seed: SeedOption = None,
    replications: Annotated[
        int | None,
        typer.Option(help="Replications per point (default: the file's, at least 3)."),
    ] = None,
    steps: Annotated[int, typer.Option(help="At most this many bisection steps.")] = 12,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default results/<name>/<id>-stress).")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print only the result as JSON.")] = False,
    force: ForceOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """Where along one field a target stops holding: bisection on replication means, the
    critical value with its uncertainty, and the curve walked (stress.parquet)."""

    def body() -> None:
        from sim.batch import executors
        from sim.batch import stress as stressing
        from sim.results import RESULTS_ROOT, new_run_directory, write_directory
        from sim.scenario.loading import load_scenario

        overrides = checked_overrides(set_, seed, replications)
        problems = []
        if steps < 1:
            problems.append(f"--steps: got {steps}; expected an integer ≥ 1")
        try:
            goal = stressing.parse_target(target)
        except BadInput as bad:
            problems += bad.problems
        problems += out_problems(out, force)
        if problems:
            raise BadInput(problems)
        executors.check(workers, cluster)
        base = load_scenario(file, overrides)
        check_default(out, new_run_directory(RESULTS_ROOT, base.scenario.name, "stress"))
        if replications is None and base.scenario.replications < 3:
            overrides.append("scenario.replications=3")  # a CI needs at least two; three is fair
        pool = executors.start(workers, cluster)
        try:
            result = stressing.bisect(
                file,
                overrides,
                vary,
                goal,
                pool,
                steps,
                None if json_ else _log_point,
                allow_large,
                say,
            )
        except KeyboardInterrupt:
            pool.close(now=True)
            raise typer.Exit(130) from None
        finally:
            pool.close()
        directory = out or new_run_directory(RESULTS_ROOT, base.scenario.name, "stress")
        text = json_text.dumps(result, indent=2) + "\n"
        frames = {"stress": stressing.curve_frame(result)}
        write_directory(directory, {"stress.json": text}, frames, command="stress", force=force)
        if json_:
            sys.stdout.write(text)
        else:
            stressing.print_result(result, directory)

    guarded(body)


def _log_point(point: Any) -> None:
    """One bisection step on stderr: the value tried, the mean found, whether the target held."""
    band = "" if point.ci_low is None else f" [{point.ci_low:.4g}, {point.ci_high:.4g}]"
    mean = "null" if point.mean is None else f"{point.mean:.4g}"
    verdict = "holds" if point.holds else "fails"
    err.print(
        f"stress step {point.step}: {point.value:.6g} → {mean}{band}: {verdict}",
        markup=False,
        highlight=False,
    )
