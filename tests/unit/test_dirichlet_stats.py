"""Statistical checks of the samplers against theory.

Many independent substreams (one per merchant) draw from the same shapes; the
sample means and variances must lie within 5 standard errors of the
theoretical values, the standard errors computed here from the distributions'
moments and the sample size.  Inputs are fixed, so the outcome is deterministic.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from python_udfs.rng import Dispersion, dirichlet_batch, normal, single

FINGERPRINT = "5e" * 32
PARAMETER_HASH = "c4" * 32
N_MERCHANTS = 20_000
ALPHA = [0.3, 1.0, 2.5, 7.0]  # boost path, boundary, and two ordinary shapes
Z_MAX = 5.0


def raw_moments_beta(a, b, upto=4):
    """E[X^k] for X ~ Beta(a, b), k = 1..upto."""
    out, prod = [], 1.0
    for r in range(upto):
        prod *= (a + r) / (a + b + r)
        out.append(prod)
    return out


def raw_moments_gamma(a, upto=4):
    """E[X^k] for X ~ Gamma(a, 1), k = 1..upto."""
    out, prod = [], 1.0
    for r in range(upto):
        prod *= a + r
        out.append(prod)
    return out


def mean_var_m4(raw):
    m1, m2, m3, m4 = raw
    var = m2 - m1 * m1
    central4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4
    return m1, var, central4


def assert_mean_and_variance(sample, mean, var, central4, what):
    n = sample.size
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt((central4 - var * var * (n - 3) / (n - 1)) / n)
    z_mean = (sample.mean() - mean) / se_mean
    z_var = (sample.var(ddof=1) - var) / se_var
    assert abs(z_mean) < Z_MAX, f"{what}: mean {sample.mean()} vs {mean} ({z_mean:.2f} SE)"
    assert abs(z_var) < Z_MAX, f"{what}: variance {sample.var(ddof=1)} vs {var} ({z_var:.2f} SE)"


def draw(alpha, seed, dispersion=None):
    k = len(alpha)
    return dirichlet_batch(
        FINGERPRINT, seed, np.arange(1, N_MERCHANTS + 1, dtype=np.uint64), ["DE"] * N_MERCHANTS,
        np.tile(np.array(alpha), N_MERCHANTS), np.arange(0, k * N_MERCHANTS + 1, k),
        dispersion, PARAMETER_HASH,
    )


@pytest.fixture(scope="module")
def plain_batch():
    return draw(ALPHA, seed=2026)


def test_share_means_and_variances(plain_batch):
    k, total = len(ALPHA), sum(ALPHA)
    shares = plain_batch.shares.reshape(N_MERCHANTS, k)
    for i, a in enumerate(ALPHA):
        mean, var, c4 = mean_var_m4(raw_moments_beta(a, total - a))
        assert_mean_and_variance(shares[:, i], mean, var, c4, f"share {i} (alpha {a})")


def test_share_covariance_is_negative_as_theory(plain_batch):
    # Cov(X_i, X_j) = -a_i a_j / (A^2 (A + 1)); check its sign and size loosely (10 %).
    total = sum(ALPHA)
    shares = plain_batch.shares.reshape(N_MERCHANTS, len(ALPHA))
    expected = -ALPHA[2] * ALPHA[3] / (total * total * (total + 1.0))
    got = np.cov(shares[:, 2], shares[:, 3])[0, 1]
    assert got < 0 and abs(got - expected) < 0.1 * abs(expected)


def test_gamma_components_follow_their_shapes(plain_batch):
    gammas = plain_batch.gammas.reshape(N_MERCHANTS, len(ALPHA))
    for i, a in enumerate(ALPHA):
        mean, var, c4 = mean_var_m4(raw_moments_gamma(a))
        assert_mean_and_variance(gammas[:, i], mean, var, c4, f"gamma {i} (alpha {a})")


def test_accounting_identities(plain_batch):
    k = len(ALPHA)
    blocks = plain_batch.blocks.astype(np.int64)
    draws = plain_batch.draws.astype(np.int64)
    assert np.all(draws - blocks >= k)  # at least one normal per component
    # Lower bound: alpha >= 1 components >= 2 blocks, alpha < 1 components >= 3.
    assert np.all(blocks >= 2 * k + sum(a < 1.0 for a in ALPHA))
    before = (plain_batch.counter_before_hi.astype(object) << 64) + plain_batch.counter_before_lo.astype(object)
    after = (plain_batch.counter_after_hi.astype(object) << 64) + plain_batch.counter_after_lo.astype(object)
    assert np.all(after - before == blocks.astype(object))
    assert np.all(np.abs(plain_batch.share_sum - 1.0) <= 1e-12)


def test_published_dispersion_scales_concentration():
    batch = draw(ALPHA, seed=7, dispersion=Dispersion(True, 0.65, 1.0, 0.0, 0.0, 1e-6))
    effective = [0.65 * a for a in ALPHA]
    total = sum(effective)
    shares = batch.shares.reshape(N_MERCHANTS, len(ALPHA))
    for i, a in enumerate(effective):
        mean, var, c4 = mean_var_m4(raw_moments_beta(a, total - a))
        assert_mean_and_variance(shares[:, i], mean, var, c4, f"dispersed share {i}")


def test_normals_are_standard():
    n = 200_000
    rng = np.random.default_rng(0)
    key, hi, lo = (rng.integers(0, 1 << 64, n, dtype=np.uint64, endpoint=False) for _ in range(3))
    z = normal(key, hi, lo)
    assert_mean_and_variance(z, 0.0, 1.0, 3.0, "normal")


def test_single_uniforms_are_uniform():
    n, bins = 400_000, 50
    key = np.full(n, 0x1234567890ABCDEF, dtype=np.uint64)
    u = single(key, np.zeros(n, dtype=np.uint64), np.arange(n, dtype=np.uint64))
    assert np.all((u > 0.0) & (u < 1.0))
    assert_mean_and_variance(u, 0.5, 1.0 / 12.0, 1.0 / 80.0, "u01")
    counts = np.bincount((u * bins).astype(np.int64), minlength=bins)
    expected = n / bins
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    dof = bins - 1
    # Wilson-Hilferty upper quantile at z = 5 (p ~ 3e-7).
    limit = dof * (1 - 2 / (9 * dof) + Z_MAX * math.sqrt(2 / (9 * dof))) ** 3
    assert chi2 < limit
