"""Realism metrics (spec 06) on small hand-built datasets. Every expected value is
worked out by hand in the test, never by calling the scorer."""
from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seg3a.realism import data, metrics, truth


def _conn(**tables: pa.Table):
    conn = data.connect()
    for name, table in tables.items():
        binding = data.bind_table(conn, name, table)
        assert binding.status == "bound", binding
    return conn


def _s1(rows):
    """rows: (merchant_id, country, site_count, zone_count_country, is_escalated)."""
    m, c, n, k, e = zip(*rows)
    return pa.table({"merchant_id": pa.array(m, pa.uint64()), "legal_country_iso": list(c),
                     "site_count": pa.array(n, pa.uint32()), "zone_count_country": pa.array(k, pa.uint32()),
                     "is_escalated": list(e)})


def _zones(rows, value_name, value_type):
    """rows: (merchant_id, country, tzid, value)."""
    m, c, z, v = zip(*rows)
    return pa.table({"merchant_id": pa.array(m, pa.uint64()), "legal_country_iso": list(c), "tzid": list(z),
                     value_name: pa.array(v, value_type)})


def _counts(rows, with_site_count=False):
    """rows: (merchant_id, country, tzid, zone_site_count, zone_site_count_sum)."""
    m, c, z, n, s = zip(*rows)
    columns = {"merchant_id": pa.array(m, pa.uint64()), "legal_country_iso": list(c), "tzid": list(z),
               "zone_site_count": pa.array(n, pa.int64()), "zone_site_count_sum": pa.array(s, pa.int64())}
    if with_site_count:
        columns["site_count"] = pa.array(s, pa.uint32())
    return pa.table(columns)


# ------------------------------------------------------------------ quantiles


def test_quantile_is_linear_type7():
    # sorted 1,2,3,4: median h = 1.5 -> 2 + 0.5*(3-2); p75 h = 2.25 -> 3 + 0.25*(4-3)
    assert metrics.quantile([4, 1, 3, 2], 0.5) == 2.5
    assert metrics.quantile([4, 1, 3, 2], 0.75) == 3.25
    assert metrics.quantile([7.0], 0.75) == 7.0
    assert metrics.quantile([], 0.5) is None


def test_fraction():
    assert metrics.fraction([True, False, False, True]) == 0.5
    assert metrics.fraction([]) is None


# ------------------------------------------------------------------ S1


def test_s1_rate_and_multi_zone_rate():
    conn = _conn(s1_escalation_queue=_s1([
        (1, "AA", 5, 1, False), (1, "BB", 5, 3, True), (2, "BB", 2, 3, False), (3, "CC", 9, 2, False)]))
    result = metrics.s1_rate(conn)
    assert result.values["S1-rate"] == 1 / 4
    assert result.detail["pairs_multi_zone"] == 3
    assert result.detail["rate_multi_zone"] == 1 / 3


def _curve_rows(k, pairs, escalated, start):
    return [(start + i, "XX", 5, k, i < escalated) for i in range(pairs)]


def test_s1_curve_major_dip_skips_unsupported_buckets():
    rows = (_curve_rows(1, 30, 0, 0) + _curve_rows(2, 25, 10, 100) + _curve_rows(3, 24, 0, 200)
            + _curve_rows(4, 40, 10, 300) + _curve_rows(5, 25, 25, 400))
    result = metrics.s1_curve(_conn(s1_escalation_queue=_s1(rows)))
    # Supported (>= 25 pairs): k = 1, 2, 4, 5 with rates 0, 0.4, 0.25, 1. The k = 3 bucket
    # (24 pairs, rate 0) would give a drop of 0.4 if it counted.
    assert result.values["S1-curve.major_dip"] == 10 / 25 - 10 / 40
    assert result.detail["dip_between"] == [2, 4]
    assert [b["supported"] for b in result.detail["buckets"]] == [True, True, False, True, True]
    assert result.detail["supported_buckets"] == 4


def test_major_dip_of_rising_or_short_curves_is_zero():
    assert metrics.major_dip([0.1, 0.2, 0.9]) == (0.0, None)
    assert metrics.major_dip([0.5]) == (0.0, None)
    assert metrics.major_dip([]) == (0.0, None)
    assert metrics.major_dip([0.5, 0.2, 0.3, 0.0]) == (0.5 - 0.2, 0)


# ------------------------------------------------------------------ S2


def _priors(rows):
    c, z, s = zip(*rows)
    return pa.table({"country_iso": list(c), "tzid": list(z), "share_effective": pa.array(s, pa.float64())})


def test_s2_top1_and_ge99_over_multi_zone_countries():
    conn = _conn(s2_country_zone_priors=_priors([
        ("AA", "a/1", 1.0),                                        # single zone: not counted
        ("BB", "b/1", 0.6), ("BB", "b/2", 0.4),                    # top1 0.6
        ("CC", "c/1", 0.995), ("CC", "c/2", 0.003), ("CC", "c/3", 0.002),  # top1 0.995
        ("DD", "d/1", 0.99), ("DD", "d/2", 0.01),                  # top1 0.99 (>= 0.99 counts)
        ("EE", "e/1", 0.25), ("EE", "e/2", 0.25), ("EE", "e/3", 0.25), ("EE", "e/4", 0.25),
    ]))
    result = metrics.s2_top1(conn)
    # sorted top1: 0.25, 0.6, 0.99, 0.995; median h = 1.5, p75 h = 2.25
    assert result.values["S2-top1.median"] == pytest.approx(0.6 + 0.5 * (0.99 - 0.6), abs=1e-15)
    assert result.values["S2-top1.p75"] == pytest.approx(0.99 + 0.25 * (0.995 - 0.99), abs=1e-15)
    assert result.values["S2-ge99"] == 2 / 4
    assert result.detail["countries_multi_zone"] == 4
    assert result.detail["countries_total"] == 5


# ------------------------------------------------------------------ S3


def test_s3_std_sample_ddof1_median_over_groups_with_two_or_more_merchants():
    rows = [
        (1, "BB", "b/1", 0.45), (2, "BB", "b/1", 0.50), (3, "BB", "b/1", 0.55),   # std 0.05
        (1, "BB", "b/2", 0.30), (2, "BB", "b/2", 0.40), (3, "BB", "b/2", 0.50),   # std 0.10
        (1, "CC", "c/1", 0.20), (2, "CC", "c/1", 0.50),                           # std 0.3/sqrt(2)
        (1, "DD", "d/1", 0.99),                                                   # one merchant: excluded
    ]
    result = metrics.s3_std(_conn(s3_zone_shares=_zones(rows, "share_drawn", pa.float64())))
    # Median of {0.05, 0.10, 0.2121}; with ddof 0 it would be 0.10*sqrt(2/3).
    assert result.values["S3-std.median"] == pytest.approx(0.10, abs=1e-12)
    assert result.detail == {"groups_total": 4, "groups_scored": 3}
    assert sorted(result.arrays["std"]) == pytest.approx([0.05, 0.10, 0.3 / math.sqrt(2)], abs=1e-12)


def test_s3_z05_counts_zones_at_or_above_five_percent():
    rows = [
        (1, "BB", "b/1", 0.05), (1, "BB", "b/2", 0.95),                           # 2 (0.05 counts)
        (2, "BB", "b/1", 0.0499), (2, "BB", "b/2", 0.9501),                       # 1
        (3, "CC", "c/1", 0.3), (3, "CC", "c/2", 0.3), (3, "CC", "c/3", 0.4),       # 3
        (4, "DD", "d/1", 1.0),                                                    # 1
    ]
    result = metrics.s3_z05(_conn(s3_zone_shares=_zones(rows, "share_drawn", pa.float64())))
    assert result.values["S3-z05.share_ge2"] == 2 / 4
    assert result.values["S3-z05.median"] == 1.5          # sorted 1, 1, 2, 3
    assert result.detail["histogram"] == {"1": 2, "2": 1, "3": 1}


# ------------------------------------------------------------------ S4 / zone_alloc

S4_ROWS = [
    (1, "BB", "b/1", 10, 10), (1, "BB", "b/2", 0, 10),                      # 1 zone, top1 1.0
    (2, "BB", "b/1", 3, 4), (2, "BB", "b/2", 1, 4),                         # 2 zones, top1 0.75
    (3, "CC", "c/1", 2, 5), (3, "CC", "c/2", 2, 5), (3, "CC", "c/3", 1, 5),  # 3 zones, top1 0.4
    (4, "CC", "c/1", 5, 10), (4, "CC", "c/2", 4, 10), (4, "CC", "c/3", 1, 10),  # 3 zones, top1 0.5
]


def test_s4_multi_and_top1():
    result = metrics.s4_counts(_conn(s4_zone_counts=_counts(S4_ROWS)))
    assert result.values["S4-multi"] == 3 / 4
    # sorted top1 0.4, 0.5, 0.75, 1.0: median 0.625, p75 h = 2.25 -> 0.75 + 0.25*0.25
    assert result.values["S4-top1.median"] == 0.625
    assert result.values["S4-top1.p75"] == 0.8125
    assert result.detail["realised_zones_histogram"] == {"1": 1, "2": 1, "3": 2}


def test_za_top1_on_zone_alloc():
    rows = S4_ROWS[:4] + [(3, "CC", "c/1", 1, 1), (3, "CC", "c/2", 0, 1), (3, "CC", "c/3", 0, 1)]
    result = metrics.za_top1(_conn(zone_alloc=_counts(rows, with_site_count=True)))
    assert result.values["ZA-top1.median"] == 1.0          # sorted 0.75, 1.0, 1.0


# ------------------------------------------------------------------ CONS


def test_conservation_holds():
    s1 = _s1([(1, "BB", 10, 2, True), (2, "BB", 4, 2, True), (3, "CC", 5, 3, True), (4, "CC", 10, 3, True),
              (5, "AA", 7, 1, False)])
    conn = _conn(s1_escalation_queue=s1, s4_zone_counts=_counts(S4_ROWS),
                 zone_alloc=_counts(S4_ROWS, with_site_count=True))
    assert metrics.conservation(conn, "s4_zone_counts").values == {"CONS.s4": 0}
    assert metrics.conservation(conn, "zone_alloc").values == {"CONS.zone_alloc": 0}


def test_conservation_finds_every_kind_of_violation():
    s1 = _s1([(1, "BB", 10, 2, True), (2, "BB", 4, 2, True), (3, "CC", 6, 3, True), (4, "CC", 10, 3, True),
              (5, "AA", 7, 2, True), (6, "AA", 3, 1, False)])
    s4 = [r for r in S4_ROWS if r[0] != 2] + [
        (2, "BB", "b/1", 3, 5), (2, "BB", "b/2", 1, 5),     # own total 5 but zones sum to 4
        (6, "AA", "a/1", 3, 3),                              # pair not escalated in S1
        (4, "CC", "c/4", -1, 10),                            # negative count (sum still off too)
    ]
    result = metrics.conservation(_conn(s1_escalation_queue=s1, s4_zone_counts=_counts(s4)), "s4_zone_counts")
    # pair 3 sums to 5 but S1 says 6; pair 5 escalated in S1 but absent.
    assert result.values == {"CONS.s4": 5}
    assert result.detail["problems"] == {"inconsistent_total": 1, "missing_pair": 1, "negative_count": 1,
                                         "sum_not_site_count": 1, "unexpected_pair": 1}
    assert result.detail["pairs"] == 6
    assert [e["merchant_id"] for e in result.detail["examples"]] == [2, 3, 4, 5, 6]


def test_zone_alloc_conservation_checks_its_site_count_column():
    s1 = _s1([(1, "BB", 10, 2, True)])
    table = _counts([(1, "BB", "b/1", 6, 10), (1, "BB", "b/2", 4, 10)], with_site_count=True)
    table = table.set_column(table.column_names.index("site_count"), "site_count", pa.array([10, 11], pa.uint32()))
    result = metrics.conservation(_conn(s1_escalation_queue=s1, zone_alloc=table), "zone_alloc")
    assert result.values == {"CONS.zone_alloc": 1}
    assert result.detail["problems"] == {"inconsistent_total": 1}


# ------------------------------------------------------------------ binding


def test_missing_dataset_gives_null_metrics():
    conn = _conn(s4_zone_counts=_counts(S4_ROWS))
    results = metrics.compute_all(conn, {"s4_zone_counts"})
    values = metrics.flat_values(results)
    assert values["S4-multi"] == 3 / 4
    assert values["S1-rate"] is None and values["CONS.s4"] is None
    assert results["CONS.s4"].detail == {"unavailable": ["s1_escalation_queue"]}
    assert set(values) == set(metrics.METRIC_KEYS)


def test_bind_directory_statuses(tmp_path):
    conn = data.connect()
    good = tmp_path / "s4" / "seed=1"
    good.mkdir(parents=True)
    pq.write_table(_counts(S4_ROWS), good / "part-00000.parquet")
    binding = data.bind_directory(conn, "s4_zone_counts", good, "rel/path/")
    assert (binding.status, binding.rows, binding.path) == ("bound", len(S4_ROWS), "rel/path/")
    assert data.bind_directory(conn, "zone_alloc", tmp_path / "absent").status == "missing"
    binding = data.bind_directory(conn, "zone_alloc", good)      # lacks site_count
    assert binding.status == "invalid" and "site_count" in binding.detail


# ------------------------------------------------------------------ JSD


def test_jsd_known_values():
    assert truth.jsd([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert truth.jsd([1, 0], [0, 1]) == 1.0
    assert truth.jsd([0.5, 0.5, 0, 0], [0, 0, 0.25, 0.75]) == 1.0
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4)
    kl_p = math.log2(1 / 0.75)
    kl_q = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    assert truth.jsd([1, 0], [0.5, 0.5]) == pytest.approx(0.5 * (kl_p + kl_q), abs=1e-15)
    assert truth.jsd([2, 0], [3, 3]) == pytest.approx(0.5 * (kl_p + kl_q), abs=1e-15)   # normalised first
    assert truth.jsd([0.5, 0.5], [1, 0]) == truth.jsd([1, 0], [0.5, 0.5])


def test_jsd_grouped_and_rejects_bad_input():
    got = truth.jsd_grouped([0, 0, 1, 1], [0.5, 0.5, 1.0, 0.0], [0.5, 0.5, 0.0, 1.0], 2)
    assert got.tolist() == [0.0, 1.0]
    with pytest.raises(ValueError):
        truth.jsd([0, 0], [1, 0])
    with pytest.raises(ValueError):
        truth.jsd([1, 0], [1, 0, 0])


# ------------------------------------------------------------------ population


def _population(rows):
    c, z, p, f = zip(*rows)
    return pa.table({"country_iso": list(c), "tzid": list(z), "population": pa.array(p, pa.float64()),
                     "filed": list(f)})


def test_population_summary_real_multi_zone_countries():
    pop = _population([
        ("AA", "a/1", 98.5, True), ("AA", "a/2", 1.5, True),                       # multi, top1 0.985
        ("BB", "b/1", 99.5, True), ("BB", "b/2", 0.5, True),                       # 2nd zone < 1 %: single
        ("CC", "c/1", 50.0, True), ("CC", "c/2", 30.0, True), ("CC", "c/3", 20.0, True),  # multi, top1 0.5
        ("DD", "d/1", 99.0, True), ("DD", "d/2", 1.0, True),                       # exactly 1 % counts
        ("EE", "e/1", 60.0, True), ("EE", "x/9", 40.0, False),                     # not filed: left out
    ])
    summary = truth.population_summary(pop)
    assert summary["countries_multi_zone"] == 3
    assert [c["country_iso"] for c in summary["multi_zone_countries"]] == ["AA", "CC", "DD"]
    assert summary["top1_median"] == pytest.approx(0.985, abs=1e-15)
    assert summary["top1_p75"] == pytest.approx(0.985 + 0.5 * (0.99 - 0.985), abs=1e-15)


def test_population_fidelity_weighted_mean_and_worst():
    zone_alloc = _counts([
        (1, "XX", "x/a", 3, 4), (1, "XX", "x/b", 1, 4),        # XX outlets 3:1, population 75:25 -> 0
        (2, "YY", "y/c", 2, 2),                                # YY only y/c, population only y/d -> 1
        (3, "ZZ", "z/a", 5, 5),                                # ZZ has no population: left out
    ], with_site_count=True)
    pop = _population([("XX", "x/a", 75.0, True), ("XX", "x/b", 25.0, True), ("YY", "y/d", 10.0, True),
                       ("YY", "y/c", 99.0, False), ("WW", "w/a", 5.0, True)])
    result = truth.population_fidelity(_conn(zone_alloc=zone_alloc), pop)
    assert result["jsd_outlet_weighted_mean"] == pytest.approx((4 * 0.0 + 2 * 1.0) / 6, abs=1e-15)
    assert [c["country_iso"] for c in result["worst_countries"]] == ["YY", "XX"]
    yy = result["worst_countries"][0]
    assert (yy["jsd"], yy["outlets"], yy["zones_union"], yy["population_outside_allocation"]) == (1.0, 2, 2, 1.0)
    assert result["countries_without_population"] == [{"country_iso": "ZZ", "outlets": 5}]
    assert result["target_met"] is False


def test_tail_fidelity_over_allocation_tail_ratio_and_worst_zones():
    # XX: 100 outlets over three zones, population 90 / 9.6 / 0.4 (the last is a tail zone, < 0.5 %).
    #   a = 0.80 / 0.10 / 0.10, p = 0.90 / 0.096 / 0.004; over-allocation = max(0, 0.10 - 0.012) = 0.088.
    # YY: 50 outlets, a = 0.5 / 0.5 against p = 0.5 / 0.5: nothing beyond 3p, no tail zone.
    # ZZ: a single zone in zone_alloc: not scored (its population zone z/b has p = 0.6 of ZZ).
    zone_alloc = _counts([
        (1, "XX", "x/a", 80, 100), (1, "XX", "x/b", 10, 100), (1, "XX", "x/c", 10, 100),
        (2, "YY", "y/a", 25, 50), (2, "YY", "y/b", 25, 50),
        (3, "ZZ", "z/a", 7, 7),
    ], with_site_count=True)
    pop = _population([("XX", "x/a", 900.0, True), ("XX", "x/b", 96.0, True), ("XX", "x/c", 4.0, True),
                       ("YY", "y/a", 1.0, True), ("YY", "y/b", 1.0, True),
                       ("ZZ", "z/a", 4.0, True), ("ZZ", "z/b", 6.0, True)])
    tails = truth.population_fidelity(_conn(zone_alloc=zone_alloc), pop)["tails"]
    assert tails["countries_scored"] == 2
    assert tails["over_allocation"] == pytest.approx(100 * 0.088 / 150, abs=1e-15)
    # Only XX has a tail zone: 100 * 0.10 outlets-weighted share against 100 * 0.004.
    assert tails["tail_ratio"] == pytest.approx(0.10 / 0.004, rel=1e-12)
    assert tails["tail_outlet_share"] == pytest.approx(10 / 150, rel=1e-12)
    assert tails["tail_population_share_weighted"] == pytest.approx(0.4 / 150, rel=1e-12)
    worst = tails["worst_zones"]
    assert [(w["country_iso"], w["tzid"], w["outlets"]) for w in worst] == [("XX", "x/c", 10)]
    assert (worst[0]["a_z"], worst[0]["p_z"]) == pytest.approx((0.10, 0.004), abs=1e-15)
    assert worst[0]["outlets_beyond_3p"] == pytest.approx(8.8, abs=1e-12)


def test_tail_fidelity_without_tail_zones_has_no_ratio():
    zone_alloc = _counts([(1, "YY", "y/a", 3, 4), (1, "YY", "y/b", 1, 4)], with_site_count=True)
    pop = _population([("YY", "y/a", 1.0, True), ("YY", "y/b", 1.0, True)])
    tails = truth.population_fidelity(_conn(zone_alloc=zone_alloc), pop)["tails"]
    assert tails["tail_ratio"] is None
    assert tails["over_allocation"] == 0.0 and tails["worst_zones"] == []


def test_s3_variety_main_zone_std_and_normalised_dispersion():
    priors = _priors([("BB", "b/1", 0.8), ("BB", "b/2", 0.2), ("CC", "c/1", 1.0)])
    shares = _zones([
        (1, "BB", "b/1", 0.7), (2, "BB", "b/1", 0.9), (3, "BB", "b/1", 0.8),   # main zone, std 0.1
        (1, "BB", "b/2", 0.3), (2, "BB", "b/2", 0.1), (3, "BB", "b/2", 0.2),   # std 0.1
        (1, "CC", "c/1", 1.0), (2, "CC", "c/1", 1.0),                          # single zone: p = 1, not scored
    ], "share_drawn", pa.float64())
    result = metrics.s3_variety(_conn(s2_country_zone_priors=priors, s3_zone_shares=shares))
    assert result.values["S3-main-std.median"] == pytest.approx(0.1, abs=1e-12)
    assert result.detail["main_zone_by_country"][0]["tzid"] == "b/1"
    # 0.1 / sqrt(0.8 * 0.2) = 0.25 for both zones of BB.
    assert result.values["S3-std-norm.median"] == pytest.approx(0.25, abs=1e-12)
    assert result.detail["groups_normalised"] == 2


def test_truth_world_largest_remainder_by_hand():
    from seg3a.realism import truth_world

    # pair 0: n = 7, shares 0.5 / 0.3 / 0.2 -> 3.5 / 2.1 / 1.4 -> floors 3 / 2 / 1, one more to 0.5 -> 4 / 2 / 1
    # pair 1: n = 3, shares 0.5 / 0.5 -> 1.5 / 1.5 -> tie: the earlier row (lower tzid) gets it -> 2 / 1
    pair = np.array([0, 0, 0, 1, 1])
    first = np.array([0, 3])
    sites = np.array([7, 7, 7, 3, 3])
    counts = truth_world.largest_remainder(pair, first, sites, np.array([0.5, 0.3, 0.2, 0.5, 0.5]))
    assert counts.tolist() == [4, 2, 1, 2, 1]


def test_truth_world_draws_almost_nothing_for_zones_without_people():
    from seg3a.realism import truth_world

    merchant = np.array([1, 1, 1, 2, 2], dtype=np.uint64)
    country = np.array(["XX"] * 5)
    shares = truth_world.dirichlet_draws("ab" * 32, 7, merchant, country, np.array([0, 3]),
                                         np.array([10.0, 0.0, 5.0, 0.0, 3.0]))
    assert shares[1] < 1e-3 and shares[3] < 1e-3 and shares[4] > 1 - 1e-3
    assert shares[:3].sum() == pytest.approx(1.0, abs=1e-12)


def test_truth_world_priors_are_population_shares_and_keep_the_run_without_population():
    from seg3a.realism import truth_world

    priors = _priors([("XX", "x/a", 0.5), ("XX", "x/b", 0.5), ("ZZ", "z/a", 0.7), ("ZZ", "z/b", 0.3)])
    pop = _population([("XX", "x/a", 900.0, True), ("XX", "x/b", 100.0, True)])
    s1 = _s1([(1, "XX", 10, 2, True), (1, "ZZ", 4, 2, True)])
    shares = _zones([(1, "XX", "x/a", 0.5), (1, "XX", "x/b", 0.5), (1, "ZZ", "z/a", 0.5), (1, "ZZ", "z/b", 0.5)],
                    "share_drawn", pa.float64()).append_column("alpha_sum_country", pa.array([20.0] * 4))
    conn = _conn(s1_escalation_queue=s1, s2_country_zone_priors=priors, s3_zone_shares=shares)
    truth.bind_population(pop, conn)
    tables = truth_world.truth_tables(conn, 7, "ab" * 32)
    assert tables["s2_country_zone_priors"].column("share_effective").to_pylist() == pytest.approx([0.9, 0.1, 0.7, 0.3])
    counts = tables["zone_alloc"].column("zone_site_count").to_pylist()
    assert counts[0] + counts[1] == 10 and counts[2] + counts[3] == 4
    identity = {"seed": 7, "manifest_fingerprint": "ab" * 32}
    available = {"s1_escalation_queue", "s2_country_zone_priors", "s3_zone_shares"}
    values = truth_world.truth_values(conn, available, identity, pop)
    assert values["S2-top1.median"] == pytest.approx(0.8, abs=1e-15)         # median of 0.9 and 0.7
    assert "CONS.s4" not in values and "S1-rate" not in values
    assert values == truth_world.truth_values(conn, available, identity, pop)


def test_a_zone_with_almost_no_people_gets_almost_no_outlets_in_the_truth_world():
    from seg3a.realism import truth_world

    # One country, 400 split pairs of 20 sites: zone x/tiny holds 300 of 3,000,300 people.
    priors = _priors([("XX", "x/big", 0.5), ("XX", "x/mid", 0.3), ("XX", "x/tiny", 0.2)])
    pop = _population([("XX", "x/big", 2_000_000.0, True), ("XX", "x/mid", 1_000_000.0, True),
                       ("XX", "x/tiny", 300.0, True)])
    pairs = range(1, 401)
    s1 = _s1([(m, "XX", 20, 3, True) for m in pairs])
    shares = _zones([(m, "XX", z, 1 / 3) for m in pairs for z in ("x/big", "x/mid", "x/tiny")],
                    "share_drawn", pa.float64()).append_column("alpha_sum_country", pa.array([30.0] * 1200))
    conn = _conn(s1_escalation_queue=s1, s2_country_zone_priors=priors, s3_zone_shares=shares)
    truth.bind_population(pop, conn)
    alloc = truth_world.truth_tables(conn, 42, "cd" * 32)["zone_alloc"]
    tzid, counts = alloc.column("tzid").to_pylist(), alloc.column("zone_site_count").to_pylist()
    tiny = sum(c for z, c in zip(tzid, counts) if z == "x/tiny")
    assert tiny <= 2                                   # of 8,000 outlets; population share 1e-4 -> 0.8 expected


# ------------------------------------------------------------------ Z(c)


def test_zone_universe_of_run_against_zone_tab():
    # zone.tab (tzdata 2026.3): DE Europe/Berlin + Europe/Busingen (a link to Europe/Zurich),
    # FR Europe/Paris. XK has no zone.tab row, so it is out of scope.
    conn = _conn(s2_country_zone_priors=_priors([
        ("DE", "Europe/Berlin", 0.9), ("DE", "Europe/Zurich", 0.1), ("FR", "Europe/Paris", 1.0),
        ("XK", "Europe/Belgrade", 1.0)]))
    result = truth.zone_universe_of_run(conn)
    assert result["countries_scored"] == 2
    assert (result["as_named"]["precision"], result["as_named"]["recall"]) == (2 / 3, 2 / 3)
    assert (result["canonical"]["precision"], result["canonical"]["recall"]) == (1.0, 1.0)
    assert [(d["kind"], d["tzid"], d["resolved_by_link"]) for d in result["disagreements"]] == [
        ("FN", "Europe/Busingen", True), ("FP", "Europe/Zurich", True)]
    assert result["target_met"] is False


def test_summarise_evaluator_result_drops_timing():
    result = {"as_named": {"precision": 0.96, "recall": 0.95}, "canonical": {}, "timing": {"seconds_total": 3.2},
              "disagreements": [{"kind": "FP", "category": "alias"}, {"kind": "FP", "category": "alias"},
                                {"kind": "FN", "category": "sliver"}]}
    summary = truth.summarise_evaluator_result(result)
    assert "timing" not in summary and summary["target_met"] is True
    assert summary["disagreement_categories"] == {"FN:sliver": 1, "FP:alias": 2}
    assert truth.summarise_evaluator_result({"as_named": {"precision": 0.96, "recall": 0.9499}})["target_met"] is False


def test_population_loader_matches_the_measured_ground_truth():
    """Guards the definition: cities1000 restricted to zone.tab zones gives 24 real
    multi-zone countries (06: about 24), median top-1 share near 0.79."""
    loaded = truth.population_table()
    summary = truth.population_summary(loaded["table"])
    assert summary["countries_multi_zone"] == 24
    assert 0.75 <= summary["top1_median"] <= 0.82
    assert np.all(loaded["table"].column("population").to_numpy() >= 0)
