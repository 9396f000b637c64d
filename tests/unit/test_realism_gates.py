"""Realism gates (spec 06): exact boundaries, per-seed levels, ground-truth waivers,
cross-seed CV and the verdict."""
from __future__ import annotations

import math

import pytest

from seg3a.realism import gates

# Every gate comfortably inside B+.
GOOD = {
    "S1-rate": 0.5,
    "S1-curve.major_dip": 0.0,
    "S2-top1.median": 0.70,
    "S2-top1.p75": 0.80,
    "S2-ge99": 0.05,
    "S3-std.median": 0.06,
    "S3-z05.share_ge2": 0.5,
    "S3-z05.median": 3.0,
    "S4-multi": 0.7,
    "S4-top1.median": 0.7,
    "S4-top1.p75": 0.8,
    "ZA-top1.median": 0.7,
    "CONS.s4": 0,
    "CONS.zone_alloc": 0,
}


def seed(values, **kwargs):
    return gates.evaluate_seed(values, **kwargs)


def status(result, gate_id, level):
    return next(g for g in result["gates"] if g["gate"] == gate_id)[level]["status"]


# ------------------------------------------------------------------ comparisons


def test_le_boundary_is_inclusive_and_exact():
    assert gates.compare(0.85, "le", 0.85)
    assert not gates.compare(0.8500001, "le", 0.85)
    assert not gates.compare(math.nextafter(0.85, 1.0), "le", 0.85)


def test_ge_boundary_is_inclusive_and_exact():
    assert gates.compare(0.02, "ge", 0.02)
    assert not gates.compare(math.nextafter(0.02, 0.0), "ge", 0.02)
    assert gates.compare(2.0, "ge", 2)


def test_in_band_includes_both_ends():
    assert gates.compare(0.25, "in", [0.25, 0.75]) and gates.compare(0.75, "in", [0.25, 0.75])
    assert not gates.compare(math.nextafter(0.25, 0.0), "in", [0.25, 0.75])
    assert not gates.compare(math.nextafter(0.75, 1.0), "in", [0.25, 0.75])


def test_none_never_passes_and_unknown_operator_is_an_error():
    for op, t in (("le", 1.0), ("ge", 0.0), ("eq", 0), ("in", [0, 1])):
        assert not gates.compare(None, op, t)
    with pytest.raises(ValueError):
        gates.compare(1.0, "lt", 2.0)


# ------------------------------------------------------------------ per seed


def test_good_values_pass_both_levels():
    result = seed(GOOD)
    assert result[gates.B] and result[gates.BPLUS]
    assert result["failed"] == {gates.B: [], gates.BPLUS: []}


def test_s2_top1_median_boundary_at_b():
    at = seed({**GOOD, "S2-top1.median": 0.85})
    assert status(at, "S2-top1.median", gates.B) == "pass"
    assert at[gates.B] and not at[gates.BPLUS]
    above = seed({**GOOD, "S2-top1.median": 0.8500001})
    assert status(above, "S2-top1.median", gates.B) == "fail"
    assert not above[gates.B] and above["failed"][gates.B] == ["S2-top1.median"]


@pytest.mark.parametrize("metric, b_edge, b_out, bplus_edge", [
    ("S2-top1.p75", 0.93, 0.9300001, 0.88),
    ("S2-ge99", 0.20, 0.2000001, 0.10),
    ("S4-top1.median", 0.90, 0.9000001, 0.85),
    ("S4-top1.p75", 0.97, 0.9700001, 0.93),
    ("ZA-top1.median", 0.90, 0.9000001, 0.85),
    ("S3-std.median", 0.02, 0.0199999, 0.04),
    ("S4-multi", 0.35, 0.3499999, 0.55),
    ("S3-z05.median", 2.0, 1.5, 3.0),
])
def test_every_two_level_gate_at_its_boundaries(metric, b_edge, b_out, bplus_edge):
    at_b = seed({**GOOD, metric: b_edge})
    assert at_b[gates.B] and not at_b[gates.BPLUS]
    assert not seed({**GOOD, metric: b_out})[gates.B]
    at_bplus = seed({**GOOD, metric: bplus_edge})
    assert at_bplus[gates.B] and at_bplus[gates.BPLUS]


def test_b_only_and_bplus_only_gates():
    share = seed({**GOOD, "S3-z05.share_ge2": 0.20})          # B only: boundary passes, no B+ row
    assert share[gates.B] and share[gates.BPLUS]
    assert not seed({**GOOD, "S3-z05.share_ge2": 0.1999999})[gates.B]
    dip = seed({**GOOD, "S1-curve.major_dip": 0.10})          # B+ only
    assert dip[gates.BPLUS]
    deep = seed({**GOOD, "S1-curve.major_dip": 0.1000001})
    assert deep[gates.B] and not deep[gates.BPLUS]
    assert status(deep, "S1-curve.major_dip", gates.B) == "n/a"


def test_conservation_is_hard_at_both_levels():
    result = seed({**GOOD, "CONS.zone_alloc": 1})
    assert not result[gates.B] and not result[gates.BPLUS]


def test_missing_metric_fails():
    result = seed({**GOOD, "S3-std.median": None})
    assert not result[gates.B] and result["failed"][gates.B] == ["S3-std.median"]


def test_escalation_band_is_configurable_and_hard():
    assert seed({**GOOD, "S1-rate": 0.25})[gates.B]
    assert not seed({**GOOD, "S1-rate": 0.2499999})[gates.B]
    narrow = seed({**GOOD, "S1-rate": 0.35}, band=(0.10, 0.30))
    assert not narrow[gates.B] and narrow["failed"][gates.B] == ["S1-rate.band"]
    with pytest.raises(ValueError):
        gates.escalation_band_gate((0.6, 0.4))


# ------------------------------------------------------------------ ground truth wins


def test_a_threshold_the_truth_fails_is_replaced_by_the_truth_within_tolerance():
    # Truth p75 0.95 fails B (0.93) and B+ (0.88): both levels judge against 0.95 * 1.05 = 0.9975.
    values = {**GOOD, "S2-top1.p75": 0.96}
    assert not seed(values)[gates.B]
    judged = seed(values, truth_values={"S2-top1.p75": 0.95})
    assert judged[gates.B] and judged[gates.BPLUS]
    row = next(g for g in judged["gates"] if g["gate"] == "S2-top1.p75")
    assert row["truth_value"] == 0.95
    assert row[gates.B]["basis"] == row[gates.BPLUS]["basis"] == "truth"
    assert row[gates.B]["truth_bound"] == pytest.approx(0.95 * 1.05, abs=1e-15)
    assert not seed({**GOOD, "S2-top1.p75": 0.9976}, truth_values={"S2-top1.p75": 0.95})[gates.B]
    assert judged["judged_against_truth"] == {gates.B: ["S2-top1.p75"], gates.BPLUS: ["S2-top1.p75"]}


def test_a_ge_gate_judged_against_the_truth_fails_below_the_tolerance():
    # Truth S3-std 0.015 fails B 0.02: a drawn statistic, tolerance 29 %, bound 0.015 * 0.71 = 0.01065.
    truth = {"S3-std.median": 0.015}
    assert status(seed({**GOOD, "S3-std.median": 0.0107}, truth_values=truth), "S3-std.median", gates.B) == "pass"
    assert status(seed({**GOOD, "S3-std.median": 0.0106}, truth_values=truth), "S3-std.median", gates.B) == "fail"


def test_a_truth_that_meets_a_threshold_only_within_its_noise_contradicts_it():
    # Truth S3-std 0.0205 meets B 0.02, but 0.0205 * 0.71 = 0.014555 does not: a run of the
    # truth's own process fails 0.02 by chance, so the truth's value within 29 % decides.
    judged = seed({**GOOD, "S3-std.median": 0.0181}, truth_values={"S3-std.median": 0.0205})
    row = next(g for g in judged["gates"] if g["gate"] == "S3-std.median")
    assert row[gates.B]["basis"] == "truth" and row[gates.B]["status"] == "pass"
    assert row[gates.B]["truth_fails_threshold"] is False
    assert row[gates.B]["truth_bound"] == pytest.approx(0.014555, abs=1e-12)
    assert status(seed({**GOOD, "S3-std.median": 0.0145}, truth_values={"S3-std.median": 0.0205}),
                  "S3-std.median", gates.B) == "fail"
    from seg3a.realism import report

    assert report.truth_note(row) == ("truth 0.0205 meets B 0.0200 by less than its noise and fails B+ 0.0400: "
                                      "judged against the truth, >= 0.0146 (truth within 29 %)")
    # Truth 0.03: 0.03 * 0.71 = 0.0213 still meets 0.02, so the threshold decides.
    kept = seed({**GOOD, "S3-std.median": 0.0199}, truth_values={"S3-std.median": 0.03})
    row = next(g for g in kept["gates"] if g["gate"] == "S3-std.median")
    assert row[gates.B]["basis"] == "threshold" and row[gates.B]["status"] == "fail"


def test_every_drawn_gate_has_a_tolerance_and_the_prior_gates_share_one():
    drawn = [g for g in gates.GATES if g.truth_relative and not g.metric.startswith("S2")]
    assert sorted(gates.DRAWN_TOLERANCES) == sorted(g.metric for g in drawn)
    assert all(0 < g.tolerance < 1 for g in drawn)
    assert {g.tolerance for g in gates.GATES if g.metric.startswith("S2")} == {gates.PRIOR_TOLERANCE}


def test_only_the_contradicted_level_moves_to_the_truth():
    # Truth median 0.79 passes B (0.85) but fails B+ (0.75): B keeps its threshold.
    judged = seed({**GOOD, "S2-top1.median": 0.86}, truth_values={"S2-top1.median": 0.79})
    row = next(g for g in judged["gates"] if g["gate"] == "S2-top1.median")
    assert row[gates.B]["basis"] == "threshold" and row[gates.B]["status"] == "fail"
    assert row[gates.BPLUS]["basis"] == "truth" and row[gates.BPLUS]["status"] == "fail"   # 0.86 > 0.79 * 1.05
    assert not judged[gates.B]


def test_gates_the_truth_meets_keep_their_thresholds():
    result = seed({**GOOD, "S4-multi": 0.40}, truth_values={"S4-multi": 0.90})
    row = next(g for g in result["gates"] if g["gate"] == "S4-multi")
    assert row[gates.BPLUS]["basis"] == "threshold" and row[gates.BPLUS]["status"] == "fail"


def test_gates_without_a_population_counterpart_ignore_truth_values():
    # S1 and conservation are the run's own decisions: a truth value for them changes nothing.
    result = seed({**GOOD, "CONS.s4": 3, "S1-curve.major_dip": 0.2},
                  truth_values={"CONS.s4": 3, "S1-curve.major_dip": 0.2})
    assert status(result, "CONS.s4", gates.B) == "fail"
    assert status(result, "S1-curve.major_dip", gates.BPLUS) == "fail"


# ------------------------------------------------------------------ CV


def test_cv_is_sample_std_over_mean():
    # mean 2.5; sample variance ((1.5^2 + 0.5^2) * 2) / 3 = 5/3
    assert gates.coefficient_of_variation([1, 2, 3, 4]) == pytest.approx(math.sqrt(5 / 3) / 2.5, abs=1e-15)
    population_cv = math.sqrt(1.25) / 2.5
    assert gates.coefficient_of_variation([1, 2, 3, 4]) != pytest.approx(population_cv)
    assert gates.coefficient_of_variation([0.3, 0.3, 0.3, 0.3]) == 0.0


def test_cv_undefined_cases():
    assert gates.coefficient_of_variation([0.5]) is None
    assert gates.coefficient_of_variation([0.5, None, 0.4]) is None
    assert gates.coefficient_of_variation([0.0, 0.0]) is None


def _cv_row(rows, metric):
    return next(r for r in rows if r["metric"] == metric)


def test_cross_seed_thresholds():
    seeds = (42, 7, 101, 202)
    per_seed = {
        42: {"S2-top1.median": 1.0, "S3-std.median": 1.0, "S4-top1.median": 1.0, "S4-multi": 1.0},
        7: {"S2-top1.median": 1.2, "S3-std.median": 1.5, "S4-top1.median": 2.0, "S4-multi": 1.0},
        101: {"S2-top1.median": 1.0, "S3-std.median": 1.0, "S4-top1.median": 1.0, "S4-multi": 1.0},
        202: {"S2-top1.median": 1.2, "S3-std.median": 1.5, "S4-top1.median": 2.0},
    }
    rows = gates.cross_seed_gates(per_seed, seeds)
    # CV 0.105 (both pass), 0.231 (B only), 0.385 (neither); S4-multi lacks seed 202.
    low, mid, high = (_cv_row(rows, m) for m in ("S2-top1.median", "S3-std.median", "S4-top1.median"))
    assert low["value"] == pytest.approx(math.sqrt(4 * 0.01 / 3) / 1.1, abs=1e-12)
    assert (low[gates.B]["status"], low[gates.BPLUS]["status"]) == ("pass", "pass")
    assert mid["value"] == pytest.approx(math.sqrt(4 * 0.0625 / 3) / 1.25, abs=1e-12)
    assert (mid[gates.B]["status"], mid[gates.BPLUS]["status"]) == ("pass", "fail")
    assert (high[gates.B]["status"], high[gates.BPLUS]["status"]) == ("fail", "fail")
    multi = _cv_row(rows, "S4-multi")
    assert multi["value"] is None and multi[gates.B]["status"] == "fail"


# ------------------------------------------------------------------ verdict


def _cv_rows(status_b="pass", status_bplus="pass"):
    return [{"gate": f"CV.{m}", gates.B: {"status": status_b}, gates.BPLUS: {"status": status_bplus}}
            for m in gates.PRIMARY_MEDIANS]


def _pack(**overrides):
    return {s: seed(overrides.get(str(s), GOOD)) for s in gates.SEEDPACK}


def test_verdict_pass_bplus():
    assert gates.verdict(_pack(), _cv_rows())["verdict"] == "PASS_BPLUS"


def test_verdict_pass_b_when_one_seed_misses_bplus():
    outcome = gates.verdict(_pack(**{"202": {**GOOD, "S3-std.median": 0.03}}), _cv_rows())
    assert outcome["verdict"] == "PASS_B"
    assert outcome["failed"][gates.BPLUS] == ["seed 202: S3-std.median"]


def test_verdict_fail_when_one_seed_misses_b():
    # The previous implementation's failure mode: seed 202 S3-std median below 0.02.
    outcome = gates.verdict(_pack(**{"202": {**GOOD, "S3-std.median": 0.0199}}), _cv_rows())
    assert outcome["verdict"] == "FAIL_REALISM"
    assert outcome["failed"][gates.B] == ["seed 202: S3-std.median"]


def test_verdict_cv_levels():
    assert gates.verdict(_pack(), _cv_rows("pass", "fail"))["verdict"] == "PASS_B"
    assert gates.verdict(_pack(), _cv_rows("fail", "fail"))["verdict"] == "FAIL_REALISM"


def test_verdict_needs_every_seed_and_no_blocker():
    pack = _pack()
    del pack[101]
    outcome = gates.verdict(pack, _cv_rows())
    assert outcome["verdict"] == "FAIL_REALISM" and outcome["failed"][gates.B] == ["seed 101: no score"]
    blocked = gates.verdict(_pack(), _cv_rows(), blockers=["different parameter_hash"])
    assert blocked["verdict"] == "FAIL_REALISM"


def test_verdict_with_gates_judged_against_the_truth_is_pass_bplus():
    truth = {"S2-top1.median": 0.79}
    pack = {s: seed({**GOOD, "S2-top1.median": 0.80}, truth_values=truth) for s in gates.SEEDPACK}
    assert gates.verdict(pack, _cv_rows())["verdict"] == "PASS_BPLUS"
