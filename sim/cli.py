"""The `distill-sim` command line: the app, its single-run commands, and the entry point.

The batch commands (`sweep`, `stress`) live in `sim.cli_batch`, `fit-traffic` in `sim.cli_fit`,
and what every command shares (options, --out checks, `guarded`) in `sim.cli_support`; they are
registered here in the order `--help` lists them. Heavy modules are imported inside the command
bodies, so `--help` and bad flags answer at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sim import cli_batch, cli_fit, cli_support, json_text
from sim.cli_support import (
    AllowLargeOption,
    ForceOption,
    ReplicationsOption,
    SeedOption,
    SetOption,
    check_default,
    checked_overrides,
    guarded,
    out_problems,
    override_list,
    override_problems,
    raise_problems,
    say,
    warn_at_load,
)
from sim.problems import BadInput
from sim.scenario.models import Scenario
from sim.usage_errors import UsageGroup

app = typer.Typer(
    cls=UsageGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Simulate distilling a teacher LLM into a student and routing between them.",
)


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
        from sim import runner
        from sim.analysis import workload

        problems = []
        if engine not in ("fast", "reference"):
            problems.append(f"--engine: got {engine!r}; expected fast or reference")
        if not 0.0 <= calls_sample <= 1.0:
            problems.append(f"--calls-sample: got {calls_sample}; expected a share in [0, 1]")
        problems += override_problems(seed, replications)
        overrides = override_list(set_, seed, replications)
        problems += out_problems(out, force)
        if problems:
            raise BadInput(problems)
        scenario = runner.load(file, overrides)
        warn_at_load(scenario)
        check_default(out, runner.default_directory(scenario))
        workload.check([scenario], allow_large, say)
        result = runner.run(
            scenario, engine=engine, sample_fraction=calls_sample, show_progress=not json_
        )
        directory = runner.save(result, out, force)
        if json_:
            sys.stdout.write(json_text.dumps(result.summary, indent=2, sort_keys=True) + "\n")
        else:
            runner.print_summary(result.summary, directory)

    guarded(body)


@app.command()
def compare(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    policy: Annotated[
        list[str] | None,
        typer.Option(
            help="A policy to compare: NAME, or NAME:path=value for a setting of that policy "
            "only, e.g. verify:router.threshold=0.5 (repeatable; default: the file's)."
        ),
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
        from sim import runner
        from sim.batch import compare as comparison
        from sim.results import RESULTS_ROOT, new_run_directory

        overrides = checked_overrides(set_, seed, replications)
        raise_problems(out_problems(out, force))
        base = runner.load(file, overrides)
        check_default(out, new_run_directory(RESULTS_ROOT, base.scenario.name, "compare"))
        policies = list(policy or [base.router.policy])
        summaries, table = comparison.compare(
            file, overrides, policies, list(grid or []), allow_large, say
        )
        directory = out or new_run_directory(RESULTS_ROOT, base.scenario.name, "compare")
        comparison.save(directory, summaries, table, force)
        if json_:
            sys.stdout.write(json_text.dumps(summaries, indent=2, sort_keys=True) + "\n")
        else:
            comparison.print_table(base.scenario.name, table, directory)

    guarded(body)


app.command()(cli_batch.sweep)
app.command()(cli_batch.stress)


@app.command()
def assess(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    set_: SetOption = None,
    json_: Annotated[bool, typer.Option("--json", help="Print only the JSON scorecard.")] = False,
) -> None:
    """The seed's scorecard: five good and five bad signals with their evidence, and the verdict."""

    def body() -> None:
        from sim import runner
        from sim.analysis.signals import assess as scorecard

        scenario = runner.load(file, list(set_ or []))
        card = scorecard(scenario, runner.run(scenario).summary)
        if json_:
            sys.stdout.write(json_text.dumps(card, indent=2) + "\n")
        else:
            runner.print_scorecard(card)

    guarded(body)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    set_: SetOption = None,
) -> None:
    """Check a scenario file; print every problem, or a one-line description of what it runs."""
    from sim.scenario.loading import load_scenario

    def body() -> None:
        s = load_scenario(file, list(set_ or []))
        segments = ", ".join(seg.name for seg in s.segments)
        print(
            f"{file}: ok — {s.scenario.name}: {s.router.policy} over "
            f"{s.scenario.horizon_days:g} days, {s.traffic.calls_per_day:g} calls/day, "
            f"segments {segments}"
        )
        warn_at_load(s)

    guarded(body)


@app.command()
def schema(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown reference (docs/scenario.md).")
    ] = False,
) -> None:
    """Print the scenario file's JSON Schema (for editors), or its Markdown reference."""
    if markdown:
        from sim.scenario.field_reference import scenario_reference

        sys.stdout.write(scenario_reference())
        return
    print(json_text.dumps(Scenario.model_json_schema(), indent=2))


@app.command()
def breakeven(
    file: Annotated[
        Path | None, typer.Argument(help="Scenario TOML file (its planned values).")
    ] = None,
    calls: Annotated[float | None, typer.Option(help="N: calls over the horizon.")] = None,
    teacher_usd: Annotated[
        float | None, typer.Option(help="c_t: teacher cost per call (USD/call).")
    ] = None,
    student_usd: Annotated[
        float | None, typer.Option(help="c_s: student cost per call, GPU and ops (USD/call).")
    ] = None,
    dataset_usd: Annotated[
        float | None, typer.Option(help="D: one-time dataset cost (USD).")
    ] = None,
    training_usd: Annotated[
        float | None, typer.Option(help="T: one-time training cost (USD).")
    ] = None,
    maintenance_usd_per_month: Annotated[
        float | None,
        typer.Option(help="Upkeep per 30-day month (USD/month); M over the horizon is × H/30."),
    ] = None,
    maintenance_usd: Annotated[
        float | None, typer.Option(hidden=True, help="Refused: ambiguous (see README).")
    ] = None,
    fallback_rate: Annotated[
        float | None, typer.Option(help="q: share of calls re-routed to the fallback.")
    ] = None,
    fallback_usd: Annotated[
        float | None, typer.Option(help="c_r: cost of one fallback call (USD/call).")
    ] = None,
    horizon_days: Annotated[
        float | None, typer.Option(help="H: the horizon the calls and upkeep span (days).")
    ] = None,
    set_: SetOption = None,
    json_: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """The seed's inequality N·c_t > D + T + M + N·((1−q)·c_s + q·c_r): the verdict on its money,
    and when it breaks even."""

    def body() -> None:
        from sim.analysis import breakeven as be
        from sim.scenario.loading import load_scenario

        given = {
            "calls": calls,
            "teacher_usd_per_call": teacher_usd,
            "student_usd_per_call": student_usd,
            "dataset_usd": dataset_usd,
            "training_usd": training_usd,
            "maintenance_usd_per_month": maintenance_usd_per_month,
            "fallback_rate": fallback_rate,
            "fallback_usd_per_call": fallback_usd,
            "horizon_days": horizon_days,
        }
        if maintenance_usd is not None:
            raise BadInput([be.WHOLE_HORIZON_REFUSAL])
        if file is None and set_:
            raise BadInput(
                [f"--set: got {item!r}; expected a scenario FILE to apply it to" for item in set_]
            )
        base = be.from_scenario(load_scenario(file, list(set_ or []))) if file else None
        inputs = be.resolve(given, base)
        overridden = [name for name, value in given.items() if value is not None]
        per_month = given["maintenance_usd_per_month"]
        if per_month is None:
            per_month = base["maintenance_usd_per_month"] if base else 0.0
        rep = be.report(inputs, "flags" if file is None else str(file), overridden, per_month)
        if json_:
            sys.stdout.write(json_text.dumps(rep, indent=2) + "\n")
        else:
            be.print_report(rep)

    guarded(body)


app.command("fit-traffic")(cli_fit.fit_traffic)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A directory written by `run`, or by `compare`.")],
) -> None:
    """Regenerate a run's report.html (self-contained) and its PNG figures; on a compare
    directory, the frontier and one row per policy with its verdict."""

    def body() -> None:
        from sim import output_dir
        from sim.report import COMPARISON_FIGURES, FIGURE_NAMES, REPORT_NAME, load_any, write_report

        load_any(run_dir)  # bad input (neither a run nor a compare folder) before the probe
        raise_problems(output_dir.writable_problems(run_dir, "RUN_DIR"))
        written = write_report(run_dir)
        names = (REPORT_NAME, *FIGURE_NAMES, *COMPARISON_FIGURES)
        output_dir.record(run_dir, [n for n in dict.fromkeys(names) if (run_dir / n).exists()])
        print(f"report: {written}")

    guarded(body)


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
        from sim.data.logs import read_logs, segment_name
        from sim.fit import calibration_report
        from sim.fit.calibration import calibrate as fit_segments
        from sim.results import RESULTS_ROOT, new_run_directory

        raise_problems(out_problems(out, force))
        default = new_run_directory(RESULTS_ROOT, segment_name(logs.stem), "calibrate")
        check_default(out, default)
        checked = read_logs(logs, segment_column, confidence_column, correct_column)
        segments, overall = fit_segments(checked)
        directory = out or new_run_directory(RESULTS_ROOT, segment_name(logs.stem), "calibrate")
        result = calibration_report.write(directory, checked, segments, overall, force)
        if json_:
            sys.stdout.write(json_text.dumps(result, indent=2) + "\n")
        else:
            calibration_report.print_table(result)

    guarded(body)


def main() -> None:
    """Console-script entry point."""
    cli_support.EXIT_AT_ONCE = True
    app()


if __name__ == "__main__":
    main()
