"""The traffic tables: the Poisson process's shape, or a trace replayed from a file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.problems import show
from sim.scenario.schema_types import Factor, Positive, Strict


class Trace(Strict):
    """[traffic.trace]: arrivals replayed from a file instead of the Poisson process."""

    path: str = Field(description="CSV, Parquet or JSONL file, relative to the scenario file")
    format: Literal["csv", "parquet", "jsonl"] | None = Field(
        None, description="the file's format (default: from its extension)"
    )
    time_column: str = Field(description="column with each call's arrival time")
    time_unit: Literal["datetime", "s", "ms"] = Field(
        "datetime", description="datetime strings, or numbers in seconds or milliseconds"
    )
    tokens_in_column: str | None = Field(
        None, description="prompt tokens per call (default: the segment's tokens_in)"
    )
    tokens_out_column: str | None = Field(
        None, description="completion tokens per call (default: the segment's tokens_out)"
    )
    segment_column: str | None = Field(
        None, description="each call's segment name (default: drawn by the segments' weights)"
    )
    speedup: Positive = Field(1.0, description="replay this many times faster than recorded")
    loop: bool = Field(
        True,
        description="repeat the trace to fill the horizon (false: the run ends with the trace)",
    )
    rate_multiplier: Positive = Field(
        1.0, description="calls per recorded call on average (thinned or repeated at random)"
    )


class Traffic(Strict):
    """[traffic]: a Poisson process with rate calls_per_day/86400 · diurnal · weekly · growth,
    or a replayed trace."""

    calls_per_day: Positive = Field(
        None,  # type: ignore[assignment]  # required unless a trace sets it (its mean rate)
        description="mean calls per day before the factors (with a trace: set from it)",
    )
    diurnal_amplitude: float = Field(
        0.0, ge=0.0, lt=1.0, description="a in 1 + a·cos(2π(hour − peak_hour)/24); 0 ≤ a < 1"
    )
    peak_hour: float = Field(14.0, ge=0.0, lt=24.0, description="hour of the daily peak")
    weekly: list[Factor] = Field(
        default_factory=lambda: [1.0] * 7,
        min_length=7,
        max_length=7,
        description="seven day factors (each ≤ 1e9), day 0 a Monday; normalised to mean 1",
    )
    growth_per_month: float = Field(
        0.0, gt=-1.0, le=100.0, description="compound growth per 30-day month"
    )

    trace: Trace | None = Field(None, description="replay a file's arrivals instead")

    @field_validator("weekly")
    @classmethod
    def _some_day_has_traffic(cls, weekly: list[float]) -> list[float]:
        if sum(weekly) <= 0:
            raise ValueError(f"got {show(weekly)}; expected at least one positive factor")
        return weekly

    @model_validator(mode="after")
    def _rate_or_trace(self) -> Traffic:
        if self.trace is None:
            if self.calls_per_day is None:
                raise ValueError(
                    "traffic.calls_per_day: missing; expected calls per day, or a [traffic.trace]"
                )
            return self
        problems = []
        if self.calls_per_day is not None:
            problems.append(
                f"traffic.calls_per_day: got {self.calls_per_day:g} with a [traffic.trace]; "
                "expected no calls_per_day (the trace sets the rate; scale it with "
                "trace.rate_multiplier or trace.speedup)"
            )
        shaping = {
            "diurnal_amplitude": (self.diurnal_amplitude, 0.0),
            "weekly": (self.weekly, [1.0] * 7),
            "growth_per_month": (self.growth_per_month, 0.0),
        }
        for name, (value, off) in shaping.items():
            if value != off:
                problems.append(
                    f"traffic.{name}: got {show(value)} with a [traffic.trace]; expected "
                    f"{show(off)} (a replayed trace has its own daily and weekly shape)"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self
