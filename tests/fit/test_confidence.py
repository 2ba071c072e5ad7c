"""Confidence fits against known parameters: recovery within standard errors, standard errors
against the spread across seeds and the numerical Hessian, and the choice between families."""

import numpy as np
import pytest
from scipy import special, stats

from sim.fit.confidence import (
    EPSILON,
    beta_information,
    can_fit,
    clip,
    fit_beta,
    fit_confidence,
    fit_logit_normal,
)

SEEDS = range(40)
N = 20_000


def beta_sample(seed: int, a: float, b: float, n: int = N) -> np.ndarray:
    return np.random.default_rng(seed).beta(a, b, n)


def logit_normal_sample(seed: int, mu: float, sigma: float, n: int = N) -> np.ndarray:
    return special.expit(np.random.default_rng(seed).normal(mu, sigma, n))


def check_recovery(estimates: np.ndarray, errors: np.ndarray, truth: float) -> None:
    """Each estimate within 4 SE, and their mean within 4 SE/√k (under 0.7% of the parameter
    here, so a 1% bias fails); the spread across seeds matches the SE: for k = 40, s/σ lies in
    [0.66, 1.36] with probability 0.998 (χ² with 39 degrees of freedom)."""
    assert np.all(np.abs(estimates - truth) < 4 * errors), (estimates, errors)
    k = len(estimates)
    assert abs(estimates.mean() - truth) < 4 * errors.mean() / np.sqrt(k)
    assert 0.66 < estimates.std(ddof=1) / errors.mean() < 1.36


@pytest.mark.parametrize(("a", "b"), [(9.0, 1.5), (3.0, 3.0), (0.8, 2.5)])
def test_beta_maximum_likelihood_recovers_known_parameters_within_standard_errors(a, b):
    fits = [fit_beta(beta_sample(seed, a, b)) for seed in SEEDS]
    check_recovery(np.array([f.a for f in fits]), np.array([f.a_se for f in fits]), a)
    check_recovery(np.array([f.b for f in fits]), np.array([f.b_se for f in fits]), b)


def test_beta_standard_errors_invert_the_numerical_hessian_of_the_log_likelihood():
    x = clip(beta_sample(7, 9.0, 1.5))
    fit = fit_beta(x)

    def log_likelihood(a: float, b: float) -> float:
        return float(stats.beta.logpdf(x, a, b).sum())

    h = 1e-3
    hessian = np.empty((2, 2))
    point = np.array([fit.a, fit.b])
    for i in range(2):
        for j in range(2):
            di, dj = np.eye(2)[i] * h, np.eye(2)[j] * h
            hessian[i, j] = (
                log_likelihood(*(point + di + dj))
                - log_likelihood(*(point + di - dj))
                - log_likelihood(*(point - di + dj))
                + log_likelihood(*(point - di - dj))
            ) / (4 * h * h)
    np.testing.assert_allclose(-hessian, beta_information(fit.a, fit.b, x.size), rtol=1e-4)
    covariance = np.linalg.inv(-hessian)
    assert fit.a_se == pytest.approx(np.sqrt(covariance[0, 0]), rel=1e-4)
    assert fit.b_se == pytest.approx(np.sqrt(covariance[1, 1]), rel=1e-4)
    # and the log-likelihood is at its maximum there
    assert log_likelihood(fit.a, fit.b) >= max(
        log_likelihood(fit.a * 1.001, fit.b), log_likelihood(fit.a, fit.b * 1.001)
    )


@pytest.mark.parametrize(("mu", "sigma"), [(2.0, 1.0), (-0.5, 0.4)])
def test_logit_normal_maximum_likelihood_recovers_known_parameters(mu, sigma):
    fits = [fit_logit_normal(logit_normal_sample(seed, mu, sigma)) for seed in SEEDS]
    check_recovery(np.array([f.mu for f in fits]), np.array([f.mu_se for f in fits]), mu)
    check_recovery(np.array([f.sigma for f in fits]), np.array([f.sigma_se for f in fits]), sigma)


def test_logit_normal_log_likelihood_is_the_density_of_the_confidence_not_of_its_logit():
    x = logit_normal_sample(0, 1.0, 0.7, 1000)
    fit = fit_logit_normal(x)
    z = special.logit(x)
    density = stats.norm.pdf(z, fit.mu, fit.sigma) / (x * (1 - x))
    assert fit.log_likelihood == pytest.approx(np.log(density).sum(), rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_model_selection_picks_the_family_that_generated_the_data(seed):
    assert fit_confidence(beta_sample(seed, 9.0, 1.5)).chosen == "beta"
    assert fit_confidence(beta_sample(seed, 0.8, 2.5)).chosen == "beta"
    assert fit_confidence(logit_normal_sample(seed, 2.0, 1.0)).chosen == "logit_normal"
    assert fit_confidence(logit_normal_sample(seed, -0.5, 0.4)).chosen == "logit_normal"


def bimodal(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.5, rng.beta(30, 70, n), rng.beta(90, 10, n))


def test_empirical_only_when_both_families_are_rejected_on_enough_values():
    fit = fit_confidence(bimodal(0, 5000))
    assert fit.chosen == "empirical"
    assert max(fit.beta.ks_pvalue, fit.logit_normal.ks_pvalue) < 0.01
    assert "both rejected at 0.01" in fit.reason
    small = fit_confidence(bimodal(1, 99))
    assert small.chosen in ("beta", "logit_normal")
    if max(small.beta.ks_pvalue, small.logit_normal.ks_pvalue) < 0.01:
        assert "under 100 values" in small.reason


def test_the_empirical_distribution_reproduces_its_sample_quantiles():
    sample = bimodal(2, 5000)
    fit = fit_confidence(sample)
    p = np.linspace(0, 1, 101)
    np.testing.assert_array_equal(fit.quantile(p), np.quantile(sample, p))
    # the sample is kept as logged (not clipped), sorted
    np.testing.assert_array_equal(fit.sample, np.sort(sample))


def test_exact_zeros_and_ones_are_clipped_inside_for_fitting_only():
    x = np.concatenate([beta_sample(0, 9.0, 1.5, 2000), np.ones(50), np.zeros(5)])
    clipped = clip(x)
    assert clipped.min() == EPSILON and clipped.max() == 1 - EPSILON
    fit = fit_confidence(x)
    assert np.isfinite(fit.beta.log_likelihood) and np.isfinite(fit.logit_normal.log_likelihood)
    assert fit.sample.max() == 1.0 and fit.sample.min() == 0.0


def test_a_sample_needs_two_distinct_values_to_be_fitted():
    assert not can_fit(np.array([]))
    assert not can_fit(np.array([0.7]))
    assert not can_fit(np.array([1.0, 1.0, 0.99995]))  # all clip to 1 − ε
    assert can_fit(np.array([0.7, 0.8]))
