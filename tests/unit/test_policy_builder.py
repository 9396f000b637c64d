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


def test_population_basis_unless_most_zones_lack_population():
    assert choose_mass("XX", ["a", "b", "c"], {"a": 5.0, "b": 1.0}, {"a": 1.0, "b": 1.0, "c": 1.0}).basis == "population"
    fallback = choose_mass("XX", ["a", "b", "c"], {"a": 5.0}, {"a": 2.0, "b": 3.0, "c": 0.0})
    assert fallback.basis == "area_fallback" and fallback.mass == {"a": 2.0, "b": 3.0, "c": 0.0}


def test_alphas_follow_the_smoothing_and_uniform_blend():
    # Two zones, masses 3e6 and 1e6: M = 4e6, eps = max(1000, 400) = 1000.
    alphas = country_alphas(CountryMass("XX", {"b": 1e6, "a": 3e6}, "population"), blend_lambda=0.3)
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
