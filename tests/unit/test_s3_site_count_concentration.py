"""The site-count concentration knob of zone_mixture_policy (s3_dispersion.
site_count_concentration): a pair's concentration times g(n) = clamp((n / ref)^e, lo, hi).

The sampler is untouched: the knob only scales the S2 shapes S3 hands it. These tests
check the factor against the formula, the policy validation, and the effect it exists
for (a chain's shares near the population mix, a small merchant's concentrated), which
disappears when the knob is off."""
from __future__ import annotations

import math

import numpy as np
import pytest

from python_udfs.rng import Dispersion, dirichlet_batch
from seg3a.policies.mixture import mixture_policy
from seg3a.states import s3_concentration
from seg3a.states.s3_concentration import SiteCountConcentration
from seg3a.states.s3_draws import dispersion_issues

SHIPPED_BLOCK = mixture_policy("test")["s3_dispersion"]
SHIPPED = SiteCountConcentration.from_dispersion(SHIPPED_BLOCK)


def test_the_shipped_policy_enables_the_knob():
    assert SHIPPED.enabled and SHIPPED.exponent in s3_concentration.EXPONENTS
    assert SHIPPED.min_factor < 1.0 < SHIPPED.max_factor
    assert dispersion_issues(SHIPPED_BLOCK) == []


def test_factor_follows_the_formula():
    knob = SiteCountConcentration(True, 0.5, 10.0, 0.5, 4.0)
    # sqrt(n / 10) clamped to [0.5, 4]: n = 2 -> sqrt(0.2) = 0.447 -> 0.5; 40 -> 2; 90 -> 3; 1000 -> 10 -> 4.
    assert knob.factor([2, 10, 40, 90, 160, 1000]).tolist() == [0.5, 1.0, 2.0, 3.0, 4.0, 4.0]
    assert knob.factor([5]).tolist() == [math.sqrt(0.5)]
    linear = SiteCountConcentration(True, 1.0, 10.0, 0.25, 16.0)
    assert linear.factor([1, 5, 30, 500]).tolist() == [0.25, 0.5, 3.0, 16.0]


def test_off_means_the_s2_shapes_bit_for_bit():
    alpha = np.array([0.1, 3.3, 31.6])
    sites = np.array([2, 50, 4000])
    for off in (SiteCountConcentration(), SiteCountConcentration.from_dispersion(None),
                SiteCountConcentration.from_dispersion({**SHIPPED_BLOCK, "enabled": False}),
                SiteCountConcentration.from_dispersion({**SHIPPED_BLOCK, "site_count_concentration": {
                    **SHIPPED_BLOCK["site_count_concentration"], "enabled": False}})):
        assert off.scaled(alpha, sites).tobytes() == alpha.tobytes()


@pytest.mark.parametrize("change, message", [
    ({"exponent": 2.0}, "exponent = 2.0 is not one of (0.5, 1.0)"),
    ({"reference_sites": 0.5}, "reference_sites = 0.5 outside [1.0, 1000.0]"),
    ({"min_factor": 0.0}, "min_factor = 0.0 outside (0.0, 1.0]"),
    ({"max_factor": 65.0}, "max_factor = 65.0 outside [1.0, 64.0]"),
    ({"enabled": "yes"}, "enabled must be a boolean"),
])
def test_out_of_range_knobs_are_dispersion_issues(change, message):
    block = {**SHIPPED_BLOCK, "site_count_concentration": {**SHIPPED_BLOCK["site_count_concentration"], **change}}
    assert [i.split("site_count_concentration.", 1)[1] for i in dispersion_issues(block)] == [message]


def test_a_missing_knob_field_is_a_dispersion_issue():
    knob = dict(SHIPPED_BLOCK["site_count_concentration"])
    del knob["max_factor"]
    assert dispersion_issues({**SHIPPED_BLOCK, "site_count_concentration": knob}) == [
        "s3_dispersion.site_count_concentration.max_factor is required"]


def _distance_from_prior(knob: SiteCountConcentration, sites: int, merchants: int, first_id: int) -> np.ndarray:
    """Per merchant of a tiny world (one country, zones with population 60 / 30 / 10 %,
    S2 shapes A = 35 in that ratio), the L1 distance of its drawn shares from the prior,
    drawn by the S3 sampler with the shipped s3_dispersion and `knob` for `sites` outlets."""
    prior = np.array([0.6, 0.3, 0.1])
    alpha = np.tile(35.0 * prior, merchants)
    ids = np.arange(first_id, first_id + merchants, dtype=np.uint64)
    batch = dirichlet_batch("ab" * 32, 7, ids, ["XX"] * merchants, knob.scaled(alpha, np.full(alpha.size, sites)),
                            np.arange(merchants + 1) * 3, Dispersion.from_mapping(SHIPPED_BLOCK), "cd" * 32)
    return np.abs(batch.shares.reshape(merchants, 3) - prior).sum(axis=1)


def test_a_chain_draws_closer_to_the_population_mix_than_a_two_outlet_merchant():
    chain = _distance_from_prior(SHIPPED, 500, 2000, 1)
    small = _distance_from_prior(SHIPPED, 2, 2000, 10_001)
    # Dirichlet L1 spread scales as 1 / sqrt(tau + 1): tau 35 x 0.25 x 4 = 35 for the
    # chain against 35 x 0.25 x 0.5 = 4.4 for the small merchant, about 2.6 times apart.
    assert chain.mean() * 2 < small.mean()
    # Without the knob both have the same concentration: the same spread within noise.
    chain_off = _distance_from_prior(SiteCountConcentration(), 500, 2000, 1)
    small_off = _distance_from_prior(SiteCountConcentration(), 2, 2000, 10_001)
    assert abs(chain_off.mean() / small_off.mean() - 1.0) < 0.1
