"""Fitting a confidence distribution on [0, 1]: beta and logit-normal by maximum likelihood, or
the sample itself, chosen by likelihood and a goodness-of-fit test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special, stats

# Both families have densities only inside (0, 1), and logs often hold exact 0s and 1s (rounded
# confidences); such values are moved ε inside before fitting. The sample file keeps them as logged.
EPSILON = 1e-4
# Below this many values a goodness-of-fit test has too little power to overrule the likelihood.
MIN_EMPIRICAL_ROWS = 100
# The p-values are conservative: the parameters tested were fitted to the same sample (the
# Lilliefors effect), so a rejection here is a strong one.
KS_LEVEL = 0.01
# Under 2 log-likelihood units (a likelihood ratio under e²) the choice is a coin toss.
CLOSE_LOG_LIKELIHOOD = 2.0
Family = Literal["beta", "logit_normal", "empirical"]


@dataclass(frozen=True)
class BetaFit:
    """Beta(a, b) by maximum likelihood, with standard errors from the Fisher information."""

    a: float
    b: float
    a_se: float
    b_se: float
    log_likelihood: float
    ks_pvalue: float

    def dist(self) -> dict[str, Any]:
        """The scenario distribution table."""
        return {"dist": "beta", "a": self.a, "b": self.b}


@dataclass(frozen=True)
class LogitNormalFit:
    """Logit-normal: the logit's mean and standard deviation (maximum likelihood)."""

    mu: float
    sigma: float
    mu_se: float
    sigma_se: float
    log_likelihood: float
    ks_pvalue: float

    def dist(self) -> dict[str, Any]:
        """The scenario distribution table."""
        return {"dist": "logit_normal", "mu": self.mu, "sigma": self.sigma}


@dataclass(frozen=True)
class ConfidenceFit:
    """The candidate fits of one sample and the one chosen, with the reason in words."""

    sample: np.ndarray  # as logged, sorted
    beta: BetaFit
    logit_normal: LogitNormalFit
    chosen: Family
    reason: str

    @property
    def n(self) -> int:
        """Size of the sample."""
        return len(self.sample)

    def quantile(self, p: np.ndarray) -> np.ndarray:
        """Quantiles of the empirical distribution (the sample's, linearly interpolated)."""
        return np.quantile(self.sample, p)


def clip(confidence: np.ndarray) -> np.ndarray:
    """Confidences moved at most EPSILON inside (0, 1), where both families have a density."""
    return np.clip(np.asarray(confidence, dtype=np.float64), EPSILON, 1.0 - EPSILON)


def can_fit(confidence: np.ndarray) -> bool:
    """Whether a sample determines a fit: two or more distinct values once clipped."""
    clipped = clip(confidence)
    return clipped.size >= 2 and bool(np.ptp(clipped) > 0)


def beta_information(a: float, b: float, n: int) -> np.ndarray:
    """Fisher information of n beta draws, minus the Hessian of the log-likelihood in (a, b).

    The beta is an exponential family in (log x, log(1 − x)), so the Hessian does not depend on the
    data: the observed information equals the expected one, exactly, through trigamma."""
    shared = special.polygamma(1, a + b)
    return n * np.array(
        [
            [special.polygamma(1, a) - shared, -shared],
            [-shared, special.polygamma(1, b) - shared],
        ]
    )


def fit_beta(confidence: np.ndarray) -> BetaFit:
    """Beta by maximum likelihood on [0, 1] (loc 0, scale 1 fixed) on the clipped sample."""
    x = clip(confidence)
    a, b, _, _ = stats.beta.fit(x, floc=0.0, fscale=1.0)
    covariance = np.linalg.inv(beta_information(a, b, x.size))
    return BetaFit(
        a=float(a),
        b=float(b),
        a_se=float(np.sqrt(covariance[0, 0])),
        b_se=float(np.sqrt(covariance[1, 1])),
        log_likelihood=float(stats.beta.logpdf(x, a, b).sum()),
        ks_pvalue=float(stats.kstest(x, stats.beta(a, b).cdf).pvalue),
    )


def fit_logit_normal(confidence: np.ndarray) -> LogitNormalFit:
    """Logit-normal by maximum likelihood: the mean and (biased, MLE) deviation of the logit."""
    x = clip(confidence)
    z = special.logit(x)
    mu, sigma = float(z.mean()), float(z.std())
    # The density of x carries the Jacobian 1 / (x (1 − x)), so it compares with the beta's.
    log_likelihood = stats.norm.logpdf(z, mu, sigma).sum() - np.log(x * (1.0 - x)).sum()
    return LogitNormalFit(
        mu=mu,
        sigma=sigma,
        mu_se=sigma / np.sqrt(z.size),
        sigma_se=sigma / np.sqrt(2.0 * z.size),
        log_likelihood=float(log_likelihood),
        # KS is invariant under the monotone logit: testing z against the normal is the same test.
        ks_pvalue=float(stats.kstest(z, stats.norm(mu, sigma).cdf).pvalue),
    )


def fit_confidence(confidence: np.ndarray) -> ConfidenceFit:
    """Fit both families and choose: the higher likelihood (both have two parameters), unless a
    Kolmogorov–Smirnov test at KS_LEVEL rejects both on MIN_EMPIRICAL_ROWS or more values."""
    beta, logit_normal = fit_beta(confidence), fit_logit_normal(confidence)
    sample = np.sort(np.asarray(confidence, dtype=np.float64))
    ll = f"log-likelihood {beta.log_likelihood:.1f} (beta) vs {logit_normal.log_likelihood:.1f}"
    ks = f"KS p = {beta.ks_pvalue:.2g} (beta), {logit_normal.ks_pvalue:.2g} (logit-normal)"
    both_rejected = max(beta.ks_pvalue, logit_normal.ks_pvalue) < KS_LEVEL
    if both_rejected and sample.size >= MIN_EMPIRICAL_ROWS:
        return ConfidenceFit(
            sample, beta, logit_normal, "empirical", f"{ks}: both rejected at {KS_LEVEL}"
        )
    chosen: Family = (
        "beta" if beta.log_likelihood >= logit_normal.log_likelihood else "logit_normal"
    )
    reason = f"{ll} (logit-normal); {ks}"
    if abs(beta.log_likelihood - logit_normal.log_likelihood) < CLOSE_LOG_LIKELIHOOD:
        reason += "; too close to tell apart: either would do"
    if both_rejected:
        reason += f"; both rejected at {KS_LEVEL}, but under {MIN_EMPIRICAL_ROWS} values"
    return ConfidenceFit(sample, beta, logit_normal, chosen, reason)
