"""The distribution family: one class per `dist`, with everything each member means.

A class declares its fields (the schema), how the kernels draw it (`kernel_kind`, a closed form or
a quantile table), its support's lower bound, and its scipy-like form for the reference engine and
the tables. The schema's union, the `dist` tags and the field reference derive from
`DISTRIBUTION_MODELS`.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from sim.problems import BadInput, show
from sim.scenario.quantile_grid import KIND_CONSTANT, KIND_EXPONENTIAL, KIND_TABLE
from sim.scenario.schema_types import (
    MAX_SECONDS,
    MAX_SHAPE,
    MAX_SIGMA,
    MAX_TOKENS,
    MAX_VALUE,
    Strict,
)


class DistributionModel(Strict):
    """A member of the family; the defaults fit a distribution the kernels read from a table."""

    kernel_kind: ClassVar[int] = KIND_TABLE

    def kernel_parameter(self) -> float:
        """The closed form's parameter (a table needs none)."""
        return 0.0

    def lower_bound(self) -> float:
        """The smallest value it takes (0 unless the member knows better)."""
        return 0.0

    def frozen(self) -> Any:
        """Its scipy-like form (ppf, cdf, mean)."""
        raise NotImplementedError(type(self).__name__)


class Constant(DistributionModel):
    """Always the same value."""

    dist: Literal["constant"] = "constant"
    value: float = Field(
        ge=0.0, le=MAX_VALUE, allow_inf_nan=False, description="the value (at most 1e9)"
    )

    kernel_kind: ClassVar[int] = KIND_CONSTANT

    def kernel_parameter(self) -> float:
        """The kernels draw it without a table."""
        return self.value

    def lower_bound(self) -> float:
        """The smallest value it takes."""
        return self.value

    def frozen(self) -> Any:
        """Its scipy-like form (ppf, cdf, mean)."""
        from sim.scenario.distributions import ConstantDist

        return ConstantDist(self.value)


class Exponential(DistributionModel):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0.0, le=MAX_VALUE, allow_inf_nan=False, description="mean (at most 1e9)")

    kernel_kind: ClassVar[int] = KIND_EXPONENTIAL

    def kernel_parameter(self) -> float:
        """The kernels draw it in closed form from its mean."""
        return self.mean

    def frozen(self) -> Any:
        """Its scipy-like form (ppf, cdf, mean)."""
        from scipy import stats

        return stats.expon(scale=self.mean)


class Lognormal(DistributionModel):
    """Lognormal: median · exp(sigma · Z)."""

    dist: Literal["lognormal"]
    median: float = Field(
        gt=0.0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="median (exp of the log-mean; at most 1e9)",
    )
    sigma: float = Field(
        ge=0.0,
        le=MAX_SIGMA,
        allow_inf_nan=False,
        description="standard deviation of the log (at most 10: its tail stays finite)",
    )

    def lower_bound(self) -> float:
        """The smallest value it takes: the median when sigma is 0."""
        return self.median if self.sigma == 0 else 0.0

    def frozen(self) -> Any:
        """Its scipy-like form (ppf, cdf, mean)."""
        from scipy import stats

        from sim.scenario.distributions import ConstantDist

        return (
            stats.lognorm(s=self.sigma, scale=self.median)
            if self.sigma > 0
            else ConstantDist(self.median)
        )


class Beta(DistributionModel):
    """Beta(a, b) on [0, 1]."""

    dist: Literal["beta"]
    a: float = Field(
        gt=0.0, le=MAX_SHAPE, allow_inf_nan=False, description="first shape parameter (≤ 1e6)"
    )
    b: float = Field(
        gt=0.0, le=MAX_SHAPE, allow_inf_nan=False, description="second shape parameter (≤ 1e6)"
    )

    def frozen(self) -> Any:
        """Its scipy-like form (ppf, cdf, mean)."""
        from scipy import stats

        return stats.beta(self.a, self.b)


class LogitNormal(DistributionModel):
    """Logistic of a normal: 1 / (1 + exp(-(mu + sigma · Z))), on (0, 1)."""

    dist: Literal["logit_normal"]
    mu: float = Field(
        ge=-100.0, le=100.0, allow_inf_nan=False, description="mean of the logit, in [-100, 100]"
    )
    sigma: float = Field(
        ge=0.0,
        le=MAX_SIGMA,
        allow_inf_nan=False,
        description="standard deviation of the logit (at most 10)",
    )

    def frozen(self) -> Any:
        """Its scipy-like form (ppf, cdf, mean)."""
        from scipy import special

        from sim.scenario.distributions import ConstantDist, LogitNormalDist

        if self.sigma == 0:  # scipy's normal with scale 0 is undefined (NaN), not a point mass
            return ConstantDist(float(special.expit(self.mu)))
        return LogitNormalDist(self.mu, self.sigma)


class Empirical(DistributionModel):
    """A sample's distribution: a data file's column, interpolated between order statistics."""

    dist: Literal["empirical"]
    path: str = Field(description="CSV, Parquet or JSONL file, relative to the scenario file")
    column: str = Field(description="column holding the sample")

    def lower_bound(self) -> float:
        """The sample's smallest value (0 when the file is unreadable: validation says why)."""
        from sim.data import samples

        try:
            return float(samples.load(self.path, self.column)[0])
        except BadInput:  # validation reports the file's problems with the field's path
            return 0.0

    def frozen(self) -> Any:
        """Its scipy-like form (ppf, cdf, mean)."""
        from sim.data import samples

        return samples.EmpiricalDist(samples.load(self.path, self.column))


def _bare_number_is_constant(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {"dist": "constant", "value": value}
    if isinstance(value, dict) and "dist" not in value:
        return {"dist": "<missing>", **value}
    return value


# The family, declared once as this union: the schema, the tags, the field reference and the
# quantile-table builder derive from it. Adding a distribution means a class here and its tests.
Distribution = Annotated[
    Constant | Exponential | Lognormal | Beta | LogitNormal | Empirical,
    Field(discriminator="dist"),
    BeforeValidator(_bare_number_is_constant),
]
DISTRIBUTION_MODELS: tuple[type[DistributionModel], ...] = typing.get_args(
    typing.get_args(Distribution)[0]
)
DIST_MODELS: dict[str, type[DistributionModel]] = {
    typing.get_args(m.model_fields["dist"].annotation)[0]: m for m in DISTRIBUTION_MODELS
}
DIST_KINDS: tuple[str, ...] = tuple(DIST_MODELS)
DIST_FIELDS: frozenset[str] = frozenset(f for m in DISTRIBUTION_MODELS for f in m.model_fields)


def _scale_at_most(dist: Any, limit: str, value_limit: float) -> Any:
    """Refuse a distribution whose typical value (constant, mean, median) exceeds a bound."""
    for name in ("value", "mean", "median"):
        value = getattr(dist, name, None)
        if isinstance(value, float | int) and value > value_limit:
            raise ValueError(f"got {name} = {show(value)}; expected at most {limit}")
    return dist


def seconds_at_most_a_day(dist: Any) -> Any:
    """Refuse a time distribution whose typical value is over a day."""
    return _scale_at_most(dist, "86400 s (a day)", MAX_SECONDS)


def tokens_at_most(dist: Any) -> Any:
    """Refuse a token-count distribution whose typical value is over ten million."""
    return _scale_at_most(dist, "10000000 tokens", MAX_TOKENS)


def inner_model(annotation: Any) -> Any:
    """The pydantic model inside an annotation (a list's, an optional's, a union's), if any."""
    for arg in typing.get_args(annotation) or ():
        found = inner_model(arg)
        if found is not None:
            return found
    if isinstance(annotation, type) and issubclass(annotation, Strict):
        return annotation
    return None


def is_distribution(annotation: Any) -> bool:
    """Whether a field's annotation is the Distribution union."""
    return inner_model(annotation) is DISTRIBUTION_MODELS[0]
