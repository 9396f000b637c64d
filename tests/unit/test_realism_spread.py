"""The derivation of DRAWN_TOLERANCES (seg3a.realism.spread): the statistics on small
synthetic samples with known answers, its agreement with how a gate judges a value
against the truth, and the shipped constant against the stored measurement."""
from __future__ import annotations

import json
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from seg3a.realism import gates, spread

MEASUREMENT = Path(__file__).resolve().parents[2] / "docs" / "realism_spread.json"


def test_tail_bound_by_hand():
    # 27 zeros and 0.1, 0.2, 0.3: u = type-7 90 % quantile = x[26] + 0.1 (x[27] - x[26]) = 0.01;
    # excesses 0.09, 0.19, 0.29 (mean 0.19) hold 3 / 30 of the sample; bound = u + 0.19 ln(0.1 / p).
    sample = [0.0] * 27 + [0.1, 0.2, 0.3]
    assert spread.tail_bound(sample, 0.001) == pytest.approx(0.01 + 0.19 * 4.605170186, rel=1e-9)


def test_tail_bound_recovers_an_exponential_quantile_and_covers_a_normal_one():
    rng = np.random.default_rng(20261206)
    scale, p = 0.05, 1e-4
    exponential = rng.exponential(scale, size=50_000)
    assert spread.tail_bound(exponential, p) == pytest.approx(scale * np.log(1 / p), rel=0.03)
    normal = rng.normal(0.0, 1.0, size=50_000)
    assert spread.tail_bound(normal, p) > NormalDist().inv_cdf(1 - p)       # conservative for a lighter tail


def test_tail_bound_is_exceeded_by_a_new_draw_with_about_the_stated_probability():
    rng = np.random.default_rng(7)
    samples = rng.exponential(1.0, size=(10_000, 200))
    new = rng.exponential(1.0, size=10_000)
    bounds = np.array([spread.tail_bound(s, 0.01) for s in samples])
    assert 0.007 <= float(np.mean(new > bounds)) <= 0.014


def test_tail_bound_of_a_constant_sample_is_the_constant_and_bad_inputs_are_refused():
    assert spread.tail_bound([0.25] * 40, 1e-4) == 0.25
    with pytest.raises(ValueError, match="at least 30"):
        spread.tail_bound([0.1, 0.2, 0.3], 1e-4)
    with pytest.raises(ValueError, match="not below the tail share"):
        spread.tail_bound(list(np.linspace(0, 1, 40)), 0.5)


def test_bonferroni_shares_one_percent_over_every_gate_and_seed():
    assert spread.per_test_probability(7, 4) == pytest.approx(0.01 / 28)
    assert len(spread.DRAWN_GATES) == 7
    assert all(not g.metric.startswith("S2") and g.truth_relative for g in spread.DRAWN_GATES)


def test_the_worst_seed_sets_a_gate_bound_and_the_constant_rounds_up():
    calm = [0.0] * 20 + [0.01, -0.01] * 10
    wild = [x * 10 for x in calm]
    derived = spread.derive_tolerance({"1": calm, "2": wild}, 0.001)
    assert derived["bound"] == derived["bound_by_seed"]["2"] > derived["bound_by_seed"]["1"]
    assert spread.round_up_percent(0.1201) == 0.13
    assert spread.round_up_percent(0.12) == 0.12
    assert spread.round_up_percent(0.0) == 0.0
    assert spread.gate_tolerance(0.0) == spread.gate_tolerance(0.004) == 0.01
    assert spread.gate_tolerance(0.2338) == 0.24


@pytest.mark.parametrize("gate", [g for g in gates.GATES if g.truth_relative])
def test_a_gate_judged_against_the_truth_passes_exactly_when_the_shortfall_is_within_the_tolerance(gate):
    rng = np.random.default_rng(7)
    truth_value, tolerance = 0.4, 0.1
    bound = gates.truth_bound(truth_value, gate.op, tolerance)
    for value in rng.uniform(0.2, 0.6, size=200):
        if abs(value - bound) < 1e-9:
            continue
        passes = gates.compare(float(value), gate.op, bound)
        assert passes == (spread.shortfall(gate.op, float(value), truth_value) <= tolerance)


def _synthetic_measurement(shortfalls_by_seed: dict[str, list[float]]) -> dict:
    """Replays whose S3-std (a `ge` gate) is below a truth of 0.02 by the given shortfalls;
    every other drawn gate equals its truth."""
    seeds = {}
    for seed, values in shortfalls_by_seed.items():
        replays = []
        for index, d in enumerate(values):
            truth = {g.metric: 0.5 for g in spread.DRAWN_GATES} | {"S3-std.median": 0.02}
            run = dict(truth) | {"S3-std.median": 0.02 * (1 - d)}
            replays.append({"index": index, "run": run, "truth": truth})
        seeds[seed] = {"replays": replays}
    return {"replays": len(next(iter(shortfalls_by_seed.values()))), "seeds": seeds}


def test_derive_tolerances_on_a_synthetic_measurement():
    tail = [0.0] * 27 + [0.1, 0.2, 0.3]                     # bound at p: 0.01 + 0.19 ln(0.1 / p)
    measured = _synthetic_measurement({"1": tail, "2": [d / 2 for d in tail]})
    derived = spread.derive_tolerances(measured)
    p = 0.01 / (7 * 2)
    expected = 0.01 + 0.19 * np.log(0.1 / p)
    assert derived["per_test_probability"] == pytest.approx(p)
    assert derived["gates"]["S3-std.median"]["bound"] == pytest.approx(expected, rel=1e-9)
    assert derived["gates"]["S3-std.median"]["bound_by_seed"]["2"] == pytest.approx(expected / 2, rel=1e-9)
    assert derived["gates"]["S4-multi"]["bound"] == 0.0
    assert derived["tolerances"]["S3-std.median"] == np.ceil(expected * 100) / 100
    assert derived["tolerances"]["S4-multi"] == 0.01                     # no spread: the 1 % rounding unit
    summary = derived["gates"]["S3-std.median"]["shortfall_by_seed"]["1"]
    assert summary["n"] == 30 and summary["max"] == pytest.approx(0.3)


def test_shipped_drawn_tolerances_are_the_ones_derived_from_the_stored_measurement(capsys):
    document = json.loads(MEASUREMENT.read_text(encoding="utf-8"))
    measured = document["measurement"]
    assert measured["replays"] >= 200 and sorted(map(int, measured["seeds"])) == sorted(gates.SEEDPACK)
    assert spread.derive_tolerances(measured)["tolerances"] == gates.DRAWN_TOLERANCES
    assert spread.main(["--derive", str(MEASUREMENT)]) == 0
    assert "S3-std.median: bound" in capsys.readouterr().out
