"""The `distill-sim` command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sim import json_text
from sim.problems import BadInput
from sim.scenario import Scenario
from sim.usage_errors import UsageGroup

app = typer.Typer(
    cls=UsageGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Simulate distilling a teacher LLM into a student and routing between them.",
)
# no emoji codes (":b:" in "a:b:3" became a symbol), markup or highlighting in user text
err = Console(stderr=True, emoji=False, markup=False, highlight=False)

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


def _out_problems(out: Path | None, force: bool) -> list[str]:
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


def _check_default(out: Path | None, directory: Path) -> None:
    """The default folder (known once the scenario is loaded) checked before the work."""
    from sim import output_dir

    if out is None:
        output_dir.check_directory(directory, False, default=True)


def _say(line: str) -> None:
    err.print(line, markup=False, highlight=False, soft_wrap=True)


def _fail(problems: list[str]) -> None:
    for line in problems:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _guarded(fn: Callable[[], Any]) -> Any:
    """Run a command body: bad input exits 2 with one line per problem, a crash exits 1."""
    try:
        return fn()
    except BadInput as bad:
        _fail(bad.problems)
    except KeyboardInterrupt:
        if _EXIT_AT_ONCE:
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


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    set_: SetOption = None,
    seed: SeedOption = None,
    replications: ReplicationsOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default results/<name>/<run-id>).")
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print only the summary JSON on stdout.")
    ] = False,
    calls_sample: Annotated[
        float, typer.Option(help="Share of calls to record in calls.parquet (0 = none).")
    ] = 0.0,
    engine: Annotated[str, typer.Option(help="fast (numba) or reference (SimPy per request).")] = (
        "fast"
    ),
    force: ForceOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """Simulate a scenario and write summary.json, timeseries.parquet and the resolved scenario."""

    def body() -> None:
        from sim import runner, workload

        problems = []
        if engine not in ("fast", "reference"):
            problems.append(f"--engine: got {engine!r}; expected fast or reference")
        if not 0.0 <= calls_sample <= 1.0:
            problems.append(f"--calls-sample: got {calls_sample}; expected a share in [0, 1]")
        if seed is not None and seed < 0:
            problems.append(f"--seed: got {seed}; expected an integer ≥ 0")
        if replications is not None and replications < 1:
            problems.append(f"--replications: got {replications}; expected an integer ≥ 1")
        overrides = list(set_ or [])
        if seed is not None:
            overrides.append(f"scenario.seed={seed}")
        if replications is not None:
            overrides.append(f"scenario.replications={replications}")
        problems += _out_problems(out, force)
        if problems:
            raise BadInput(problems)
        scenario = runner.load(file, overrides)
        _check_default(out, runner.default_directory(scenario))
        workload.check([scenario], allow_large, _say)
        result = runner.run(
            scenario, engine=engine, sample_fraction=calls_sample, show_progress=not json_
        )
        directory = runner.save(result, out, force)
        if json_:
            sys.stdout.write(json_text.dumps(result.summary, indent=2, sort_keys=True) + "\n")
        else:
            runner.print_summary(result.summary, directory)

    _guarded(body)


@app.command()
def compare(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    policy: Annotated[
        list[str] | None,
        typer.Option(help="A policy to compare (repeatable; default: the file's)."),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(help="A field to vary: path=lo:hi:n or path=a,b,c (repeatable)."),
    ] = None,
    set_: SetOption = None,
    seed: SeedOption = None,
    replications: ReplicationsOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default results/<name>/compare-<id>).")
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print only the list of summaries as JSON.")
    ] = False,
    force: ForceOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """Every policy and grid point on one request stream; the Pareto frontier marked."""

    def body() -> None:
        from sim import compare as comparison
        from sim import runner
        from sim.results import RESULTS_ROOT, new_run_directory

        overrides = _overrides(set_, seed, replications)
        _raise(_out_problems(out, force))
        base = runner.load(file, overrides)
        _check_default(out, new_run_directory(RESULTS_ROOT, base.scenario.name, "compare"))
        policies = list(policy or [base.router.policy])
        summaries, table = comparison.compare(
            file, overrides, policies, list(grid or []), allow_large, _say
        )
        directory = out or new_run_directory(RESULTS_ROOT, base.scenario.name, "compare")
        comparison.save(directory, summaries, table, force)
        if json_:
            sys.stdout.write(json_text.dumps(summaries, indent=2, sort_keys=True) + "\n")
        else:
            comparison.print_table(base.scenario.name, table, directory)

    _guarded(body)


WorkersOption = Annotated[
    int | None,
    typer.Option(help="Worker processes (default: every core; with --cluster local, its size)."),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(help="local (a Dask LocalCluster) or a Dask scheduler address tcp://host:port."),
]


def _overrides(set_: list[str] | None, seed: int | None, replications: int | None) -> list[str]:
    """--set items followed by --seed and --replications as overrides, each checked."""
    problems = []
    if seed is not None and seed < 0:
        problems.append(f"--seed: got {seed}; expected an integer ≥ 0")
    if replications is not None and replications < 1:
        problems.append(f"--replications: got {replications}; expected an integer ≥ 1")
    if problems:
        raise BadInput(problems)
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"scenario.seed={seed}")
    if replications is not None:
        overrides.append(f"scenario.replications={replications}")
    return overrides


def _raise(problems: list[str]) -> None:
    if problems:
        raise BadInput(problems)


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


@app.command()
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
        from sim import executors, progress, workload
        from sim import sweep as sweeping
        from sim.results import RESULTS_ROOT, new_run_directory

        overrides = _overrides(set_, seed, replications)
        executors.check(workers, cluster)
        if out is not None:
            sweeping.check_path(out, force)
        else:
            _raise(_out_problems(None, force))
        plan = sweeping.plan(file, overrides, list(grid or []), random)
        workload.check(plan.scenarios, allow_large, _say)
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

    _guarded(body)


@app.command()
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
        from sim import executors
        from sim import stress as stressing
        from sim.results import RESULTS_ROOT, new_run_directory, write_directory
        from sim.scenario_file import load_scenario

        overrides = _overrides(set_, seed, replications)
        problems = []
        if steps < 1:
            problems.append(f"--steps: got {steps}; expected an integer ≥ 1")
        try:
            goal = stressing.parse_target(target)
        except BadInput as bad:
            problems += bad.problems
        problems += _out_problems(out, force)
        if problems:
            raise BadInput(problems)
        executors.check(workers, cluster)
        base = load_scenario(file, overrides)
        _check_default(out, new_run_directory(RESULTS_ROOT, base.scenario.name, "stress"))
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
                _say,
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

    _guarded(body)


def _log_point(point: Any) -> None:
    band = "" if point.ci_low is None else f" [{point.ci_low:.4g}, {point.ci_high:.4g}]"
    mean = "null" if point.mean is None else f"{point.mean:.4g}"
    verdict = "holds" if point.holds else "fails"
    err.print(
        f"stress step {point.step}: {point.value:.6g} → {mean}{band}: {verdict}",
        markup=False,
        highlight=False,
    )


@app.command()
def assess(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    set_: SetOption = None,
    json_: Annotated[bool, typer.Option("--json", help="Print only the JSON scorecard.")] = False,
) -> None:
    """The seed's scorecard: five good and five bad signals with their evidence, and the verdict."""

    def body() -> None:
        from sim import runner
        from sim.signals import assess as scorecard

        scenario = runner.load(file, list(set_ or []))
        card = scorecard(scenario, runner.run(scenario).summary)
        if json_:
            sys.stdout.write(json_text.dumps(card, indent=2) + "\n")
        else:
            runner.print_scorecard(card)

    _guarded(body)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    set_: SetOption = None,
) -> None:
    """Check a scenario file; print every problem, or a one-line description of what it runs."""
    from sim.scenario_file import load_scenario

    def body() -> None:
        s = load_scenario(file, list(set_ or []))
        segments = ", ".join(seg.name for seg in s.segments)
        print(
            f"{file}: ok — {s.scenario.name}: {s.router.policy} over "
            f"{s.scenario.horizon_days:g} days, {s.traffic.calls_per_day:g} calls/day, "
            f"segments {segments}"
        )

    _guarded(body)


@app.command()
def schema(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown reference (docs/scenario.md).")
    ] = False,
) -> None:
    """Print the scenario file's JSON Schema (for editors), or its Markdown reference."""
    if markdown:
        from sim.docs import scenario_reference

        sys.stdout.write(scenario_reference())
        return
    print(json_text.dumps(Scenario.model_json_schema(), indent=2))


@app.command()
def breakeven(
    file: Annotated[
        Path | None, typer.Argument(help="Scenario TOML file (its planned values).")
    ] = None,
    calls: Annotated[float | None, typer.Option(help="N: calls over the horizon.")] = None,
    teacher_usd: Annotated[float | None, typer.Option(help="c_t: teacher cost per call.")] = None,
    student_usd: Annotated[
        float | None, typer.Option(help="c_s: student cost per call (GPU and ops).")
    ] = None,
    dataset_usd: Annotated[float | None, typer.Option(help="D: one-time dataset cost.")] = None,
    training_usd: Annotated[float | None, typer.Option(help="T: one-time training cost.")] = None,
    maintenance_usd: Annotated[
        float | None, typer.Option(help="M: maintenance over the horizon.")
    ] = None,
    fallback_rate: Annotated[
        float | None, typer.Option(help="q: share of calls re-routed to the fallback.")
    ] = None,
    fallback_usd: Annotated[
        float | None, typer.Option(help="c_r: cost of one fallback call.")
    ] = None,
    horizon_days: Annotated[
        float | None, typer.Option(help="H: the horizon, for the break-even day.")
    ] = None,
    set_: SetOption = None,
    json_: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """The seed's inequality N·c_t > D + T + M + N·((1−q)·c_s + q·c_r): who wins, and when."""

    def body() -> None:
        from sim import breakeven as be
        from sim.scenario_file import load_scenario

        given = {
            "calls": calls,
            "teacher_usd_per_call": teacher_usd,
            "student_usd_per_call": student_usd,
            "dataset_usd": dataset_usd,
            "training_usd": training_usd,
            "maintenance_usd": maintenance_usd,
            "fallback_rate": fallback_rate,
            "fallback_usd_per_call": fallback_usd,
            "horizon_days": horizon_days,
        }
        if file is None and set_:
            raise BadInput(
                [f"--set: got {item!r}; expected a scenario FILE to apply it to" for item in set_]
            )
        base = be.from_scenario(load_scenario(file, list(set_ or []))) if file else None
        inputs = be.resolve(given, base)
        overridden = [name for name, value in given.items() if value is not None]
        rep = be.report(inputs, "flags" if file is None else str(file), overridden)
        if json_:
            sys.stdout.write(json_text.dumps(rep, indent=2) + "\n")
        else:
            be.print_report(rep)

    _guarded(body)


@app.command("fit-traffic")
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
        from sim import traffic_fragment as fragment
        from sim.traffic_fit import fit

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

    _guarded(body)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `run`.")],
) -> None:
    """Regenerate a run's report.html (self-contained) and its PNG figures."""

    def body() -> None:
        from sim import output_dir
        from sim.report import FIGURE_NAMES, REPORT_NAME, load_run, write_report

        load_run(run_dir)  # bad input (not a run folder) before the folder is probed
        _raise(output_dir.writable_problems(run_dir, "RUN_DIR"))
        written = write_report(run_dir)
        output_dir.record(
            run_dir, [n for n in (REPORT_NAME, *FIGURE_NAMES) if (run_dir / n).exists()]
        )
        print(f"report: {written}")

    _guarded(body)


@app.command()  # the help is rich markup: the docstring escapes [ so [[segments]] prints as is
def calibrate(
    logs: Annotated[Path, typer.Argument(help="Logged student outputs: CSV, Parquet or JSONL.")],
    segment_column: Annotated[str, typer.Option(help="Column naming each row's segment.")],
    confidence_column: Annotated[str, typer.Option(help="Column of the student's confidence.")],
    correct_column: Annotated[
        str, typer.Option(help="Column saying whether the answer was right: true/false or 1/0.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Output directory (default results/<file stem>/<stamp>-calibrate)."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
    force: ForceOption = False,
) -> None:
    r"""Fit each segment's accuracy and confidence distributions from logs; write a \[\[segments]]
    fragment, a reliability diagram and calibration figures (ECE, AUROC)."""

    def body() -> None:
        from sim import calibration_report
        from sim.calibration import calibrate as fit_segments
        from sim.logs_file import read_logs, segment_name
        from sim.results import RESULTS_ROOT, new_run_directory

        _raise(_out_problems(out, force))
        default = new_run_directory(RESULTS_ROOT, segment_name(logs.stem), "calibrate")
        _check_default(out, default)
        checked = read_logs(logs, segment_column, confidence_column, correct_column)
        segments, overall = fit_segments(checked)
        directory = out or new_run_directory(RESULTS_ROOT, segment_name(logs.stem), "calibrate")
        result = calibration_report.write(directory, checked, segments, overall, force)
        if json_:
            sys.stdout.write(json_text.dumps(result, indent=2) + "\n")
        else:
            calibration_report.print_table(result)

    _guarded(body)


_EXIT_AT_ONCE = False  # set by the real command line only, never in-process (tests, notebooks)


def main() -> None:
    """Console-script entry point."""
    global _EXIT_AT_ONCE
    _EXIT_AT_ONCE = True
    app()


if __name__ == "__main__":
    main()
