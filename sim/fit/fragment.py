"""`fit-traffic`'s input and output: which columns to read, the `[traffic]` fragment, the table."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.clock import DAY_S, HOUR_S
from sim.data import traces as trace_file
from sim.data.formats import FORMATS
from sim.fit.traffic import TokenFit, TrafficFit
from sim.problems import BadInput, did_you_mean, show, toml_value

# Names that say a column holds prompt or completion tokens (lower case, before "token")
TOKEN_WORDS = {
    "in": ("context", "input", "prompt", "request"),
    "out": ("generated", "output", "completion", "response"),
}
KS_PREFER_EMPIRICAL = 0.05  # a lognormal further than this from the sample's CDF: use the sample


def resolve_spec(
    path: Path,
    fmt: str | None,
    time_column: str | None,
    time_unit: str | None,
    tokens_in_column: str | None,
    tokens_out_column: str | None,
) -> trace_file.TraceSpec:
    """The trace's spec from the options given, the rest guessed from its first rows if clear."""
    if path.is_dir() or not path.is_file():
        state = "is a folder" if path.is_dir() else "no such file"
        raise BadInput([f"TRACE: {path}: {state}; expected a CSV, Parquet or JSONL trace"])
    fmt = fmt or FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "parquet", "jsonl"):
        raise BadInput(
            [
                f"--format: got {show(fmt or path.suffix)}; expected csv, parquet or jsonl "
                "(the extension names none)"
            ]
        )
    if time_unit not in (None, "datetime", "s", "ms"):
        raise BadInput([f"--time-unit: got {show(time_unit)}; expected datetime, s or ms"])
    sample = trace_file.head(path, fmt)
    names = sample.columns
    if not sample.height:
        raise BadInput([f"{path}: no calls; expected data rows after the column names"])
    problems = []
    for option, name in (
        ("--time-column", time_column),
        ("--tokens-in-column", tokens_in_column),
        ("--tokens-out-column", tokens_out_column),
    ):
        if name is not None and name not in names:
            problems.append(
                f"{option}: got {show(name)}{did_you_mean(name, names)}; expected a column of "
                f"{path.name} ({', '.join(names[:12])})"
            )
    if problems:
        raise BadInput(problems)
    # mostly datetimes: a datetime column (its bad cells are named, by row, when it is read)
    dated = [name for name in names if trace_file.datetime_share(sample[name]) > 0.5]
    if time_column is None:
        if len(dated) != 1:
            found = f"several parse as datetimes ({', '.join(dated)})" if dated else "none parses"
            raise BadInput(
                [
                    f"--time-column: required: of {path.name}'s columns ({', '.join(names[:12])}) "
                    f"{found}; expected --time-column NAME (and --time-unit s or ms for numbers)"
                ]
            )
        time_column = dated[0]
    if time_unit is None:
        if time_column not in dated and _number_share(sample[time_column]) > 0.5:
            raise BadInput(
                [
                    f"--time-unit: required: column {show(time_column)} holds numbers, not "
                    "datetimes; expected --time-unit s or ms"
                ]
            )
        time_unit = "datetime"
    return trace_file.TraceSpec(
        path=path,
        format=fmt,
        time_column=time_column,
        time_unit=time_unit,
        tokens_in_column=tokens_in_column or _token_column(names, "in"),
        tokens_out_column=tokens_out_column or _token_column(names, "out"),
    )


def _number_share(column: pl.Series) -> float:
    """The share of a column's non-empty cells that read as numbers."""
    present = column.drop_nulls()
    if not len(present):
        return 0.0
    text = present.cast(pl.String).str.strip_chars()
    return 1.0 - text.cast(pl.Float64, strict=False).null_count() / len(present)


def _token_column(names: list[str], role: str) -> str | None:
    """The one column whose name says it holds this role's tokens, or None if not exactly one."""
    pattern = re.compile(rf"({'|'.join(TOKEN_WORDS[role])}).*tok", re.IGNORECASE)
    matches = [name for name in names if pattern.search(name)]
    return matches[0] if len(matches) == 1 else None


def fragment(result: TrafficFit, spec: trace_file.TraceSpec, out: Path | None) -> str:
    """The `[traffic]` TOML: Poisson when it fits (or is too regular), else the trace replayed."""
    hours = result.duration_s / HOUR_S
    lines = [
        f"# fitted by distill-sim fit-traffic from {spec.path.name}: {result.calls} calls over "
        f"{hours:.4g} h",
        f"# {result.verdict}",
    ]
    path = _trace_path(spec.path, out)
    if result.poisson == "bursty":
        lines += [
            "# so the fragment replays the file rather than draw a Poisson process",
            "# (a relative path is read from the folder of the scenario file holding this table)",
            "[traffic.trace]",
            f"path = {toml_value(path)}",
            f"format = {toml_value(spec.format)}",
            f"time_column = {toml_value(spec.time_column)}",
            f"time_unit = {toml_value(spec.time_unit)}",
        ]
        for key in ("tokens_in_column", "tokens_out_column"):
            if getattr(spec, key) is not None:
                lines.append(f"{key} = {toml_value(getattr(spec, key))}")
        lines.append("loop = true")
    else:
        lines += _poisson_lines(result)
    lines += _token_lines(result.tokens, path)
    return "\n".join(lines) + "\n"


def _poisson_lines(result: TrafficFit) -> list[str]:
    diurnal = result.diurnal
    per_day, per_day_se = result.calls_per_day, result.calls_per_day_se
    lines = []
    if diurnal.estimable and diurnal.mean_rate_per_s and diurnal.mean_rate_se_per_s:
        per_day, per_day_se = diurnal.mean_rate_per_s * DAY_S, diurnal.mean_rate_se_per_s * DAY_S
        lines.append("# calls_per_day: the fitted cosine's daily mean")
    lines += [
        "[traffic]",
        f"calls_per_day = {toml_value(round(per_day, 1))}   # ± {per_day_se:.3g} (1 SE)",
    ]
    if not diurnal.estimable:
        lines.append(f"diurnal_amplitude = 0.0   # {diurnal.note.split(':')[0]}")
        return lines
    amplitude = min(diurnal.amplitude, 0.99)  # the scenario takes 0 ≤ a < 1
    why = "" if amplitude == diurnal.amplitude else f", fitted {diurnal.amplitude:.3g}, capped"
    lines += [
        f"diurnal_amplitude = {toml_value(round(amplitude, 4))}   "
        f"# ± {diurnal.amplitude_se:.2g}{why}",
        f"peak_hour = {toml_value(round(diurnal.peak_hour or 0.0, 2) % 24)}   "
        f"# ± {diurnal.peak_hour_se:.2g} h, clock time of the trace",
    ]
    return lines


def _token_lines(tokens: list[TokenFit], path: str) -> list[str]:
    lines = []
    for fit in tokens:
        role = fit.role
        empirical = (
            f'{role} = {{ dist = "empirical", path = {toml_value(path)}, column = '
            f"{toml_value(fit.column)} }}   # the trace's own sample"
        )
        if fit.median is None or fit.sigma is None or fit.lognormal_ks is None:
            lines.append(f"# {empirical}")
            continue
        lognormal = (
            f'{role} = {{ dist = "lognormal", median = {fit.median:.4g}, sigma = {fit.sigma:.3g} '
            f"}}   # MLE; its CDF is within {fit.lognormal_ks:.2g} of the sample's"
        )
        ordered = [lognormal, empirical]
        if fit.lognormal_ks > KS_PREFER_EMPIRICAL:
            ordered.reverse()
        lines += [f"# {line}" for line in ordered]
    if lines:
        lines.insert(0, "# for [[segments]] (the first line of each pair fits better):")
    return lines


def _trace_path(trace: Path, out: Path | None) -> str:
    """The trace's path as a scenario beside `out` names it: relative below its folder."""
    folder = (out or trace).resolve().parent
    if out is not None and trace.resolve().is_relative_to(folder):
        return str(trace.resolve().relative_to(folder))
    return str(trace.resolve())


def write_atomically(path: Path, text: str, force: bool = False) -> None:
    """Write text to path through a temporary file and a rename: never half a file. The output
    contract is checked again here: the file may have appeared while the trace was read."""
    from sim.output_dir import check_file

    check_file(path, force)
    handle, temporary = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would hide it from other users
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def print_fit(result: TrafficFit, text: str, console: Console) -> None:
    """The estimates as rich tables, then the fragment."""
    rate = Table(
        title=escape(f"{result.path}: {result.calls} calls over {result.duration_s:.6g} s")
    )
    for column in ("estimate", "value", "1 SE", "note"):
        rate.add_column(column)
    rate.add_row(
        "calls/s",
        f"{result.rate_per_s:.6g}",
        f"{result.rate_se_per_s:.3g}",
        f"Poisson would give ± {result.rate_se_poisson_per_s:.3g}",
    )
    rate.add_row("calls/day", f"{result.calls_per_day:.6g}", f"{result.calls_per_day_se:.3g}", "")
    d = result.diurnal
    if d.estimable:
        rate.add_row("diurnal amplitude", f"{d.amplitude:.3g}", f"{d.amplitude_se:.2g}", d.note)
        rate.add_row("peak hour", f"{d.peak_hour:.3g}", f"{d.peak_hour_se:.2g}", "clock time")
    else:
        rate.add_row("diurnal amplitude", "—", "", d.note)
    if result.interarrival_cv is not None:
        rate.add_row(
            "inter-arrival CV",
            f"{result.interarrival_cv:.4g}",
            "",
            f"Poisson: 1 (≤ {result.interarrival_cv_poisson_high:.4g}); a drifting rate "
            "raises it too",
        )
    console.print(rate)
    burst = Table(title="Dispersion of counts (variance / mean; Poisson = 1)")
    for column in ("window", "windows", "whole trace", "around local trend", "Poisson bound"):
        burst.add_column(column)
    for disp in result.dispersion:
        burst.add_row(
            f"{disp.window_s:g} s",
            str(disp.windows),
            _number(disp.index),
            _number(disp.local),
            "—"
            if disp.poisson_low is None
            else f"{disp.poisson_low:.4g} – {disp.poisson_high:.4g}",
        )
    console.print(burst)
    console.print(result.verdict, markup=False, highlight=False)
    if result.tokens:
        table = Table(title="Tokens per call")
        for column in ("column", "mean", "p50", "p90", "p99", "lognormal median", "sigma", "KS"):
            table.add_column(column)
        for fit in result.tokens:
            table.add_row(
                fit.column,
                f"{fit.mean:.5g}",
                *(f"{v:g}" for v in fit.quantiles.values()),
                f"{_number(fit.median)} ± {_number(fit.median_se, 2)}",
                f"{_number(fit.sigma, 3)} ± {_number(fit.sigma_se, 2)}",
                _number(fit.lognormal_ks),
            )
        console.print(table)
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}g}"
