"""The schema's building blocks: the strict base table and the bounded number types.

Every number reaches arithmetic (sums over billions of calls, exp of a normal quantile, a time
turned into a minute index), so each type is bounded to where that arithmetic stays finite.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sim.clock import DAY_S


class Strict(BaseModel):
    """Base of every table: unknown keys are errors and a loaded scenario never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]

# Upper bounds. Every number reaches arithmetic (sums over billions of calls, exp of a normal
# quantile, a time turned into a minute index), so each is bounded to where that arithmetic stays
# finite and exact enough, far beyond what any real scenario uses; each bound is in the field's
# description, so the field reference states it.
MAX_SECONDS = DAY_S  # one latency, service or review time: a day (medians, means, constants)
MAX_VALUE = 1e9  # any distribution's value or scale (tokens, seconds, ...), before its own bound
MAX_TOKENS = 1e7  # tokens in one call: ten million, five times the longest context windows
MAX_SIGMA = 10.0  # of a log: exp(10 · 8.2), the table's farthest quantile, is 4e35, still finite
MAX_SHAPE = 1e6  # beta shapes: beyond this the distribution is a constant to double precision
MAX_USD_PER_MTOK = 1e6  # a million dollars per million tokens: 10,000× the dearest model
MAX_USD = 1e6  # one call's, review's, label's price, or one GPU hour
MAX_BUDGET_USD = 1e12  # a one-time or monthly budget: a trillion dollars
MAX_DAYS = 36500.0  # a hundred years: any day, ramp or interval
MAX_FACTOR = 1e9  # weights and day factors (only their ratios matter)
PerToken = Annotated[float, Field(ge=0.0, le=60.0, allow_inf_nan=False)]  # seconds per token
Price = Annotated[float, Field(ge=0.0, le=MAX_USD, allow_inf_nan=False)]
Budget = Annotated[float, Field(ge=0.0, le=MAX_BUDGET_USD, allow_inf_nan=False)]
Day = Annotated[float, Field(ge=0.0, le=MAX_DAYS, allow_inf_nan=False)]
Factor = Annotated[float, Field(ge=0.0, le=MAX_FACTOR, allow_inf_nan=False)]
