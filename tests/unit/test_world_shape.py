"""Shape targets of 05 §11 for seed 42 at the default size, measured on the published
`outlet_catalogue` with DuckDB and NumPy (independent of the generator's internals).

Tolerances (05 §11): counts ±10 % (relative), quantiles ±15 % (relative), shares ±3
percentage points (absolute; the Gini is treated as a share).
"""
from __future__ import annotations

import duckdb
import numpy as np
import pytest

from seg3a.world.testing import WorldView, shared_world

COUNT_TOL, QUANTILE_TOL, SHARE_TOL = 0.10, 0.15, 0.03

COUNTS = {
    "merchants": 1238,
    "countries": 77,
    "rows": 31257,
    "pairs": 2597,
    "distinct_site_ids": 2546,
    "distinct_merchant_site_ids": 24555,
}
QUANTILES = {
    "outlets_min": 2, "outlets_median": 16, "outlets_p90": 36, "outlets_p99": 161, "outlets_max": 2546,
    "legal_min": 1, "legal_median": 1, "legal_p90": 5, "legal_max": 11,
    "sites_median": 6, "sites_p90": 22, "sites_p99": 83, "sites_max": 2546,
    "foreign_min": 1, "foreign_median": 2, "foreign_max": 12,
}
SHARES = {
    "gini": 0.533,
    "top1": 0.237, "top5": 0.377, "top10": 0.461,
    "multi_country": 0.374,
    "home_ne_legal_rows": 0.386,
    "reused_site_ids": 0.127,
    "merchants_reusing": 0.374,
}


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(np.asarray(values, dtype=np.float64), q))


def _gini(values: np.ndarray) -> float:
    ordered = np.sort(values.astype(np.float64))
    n = ordered.size
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.sum(ranks * ordered) / (n * ordered.sum()) - (n + 1) / n)


def _top_share(values: np.ndarray, fraction: float) -> float:
    ordered = np.sort(values)[::-1]
    return float(ordered[: int(round(fraction * ordered.size))].sum() / ordered.sum())


def measure(parquet_glob: str) -> dict:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW oc AS SELECT * FROM read_parquet('{parquet_glob}')")
    per_merchant = con.execute("""
        SELECT merchant_id, count(*) AS outlets, count(DISTINCT legal_country_iso) AS legal,
               count(DISTINCT legal_country_iso) FILTER (WHERE legal_country_iso <> home_country_iso) AS foreign_legal,
               sum(CASE WHEN legal_country_iso <> home_country_iso THEN 1 ELSE 0 END) AS foreign_rows
        FROM oc GROUP BY merchant_id ORDER BY merchant_id""").fetchnumpy()
    sites = con.execute(
        "SELECT count(*) AS n FROM oc GROUP BY merchant_id, legal_country_iso").fetchnumpy()["n"]
    reuse = con.execute("""
        SELECT count(*) AS ids, count(*) FILTER (WHERE k > 1) AS reused,
               count(DISTINCT merchant_id) FILTER (WHERE k > 1) AS merchants
        FROM (SELECT merchant_id, site_id, count(*) AS k FROM oc GROUP BY merchant_id, site_id)""").fetchone()
    scalars = con.execute("""
        SELECT count(*), count(DISTINCT site_id),
               (SELECT count(*) FROM (SELECT home_country_iso AS c FROM oc UNION SELECT legal_country_iso FROM oc))
        FROM oc""").fetchone()
    outlets, legal = per_merchant["outlets"].astype(np.int64), per_merchant["legal"].astype(np.int64)
    foreign = per_merchant["foreign_legal"].astype(np.int64)
    foreign = foreign[foreign > 0]
    m = outlets.size
    # size deciles by outlets (ties broken by merchant id order)
    rank = np.empty(m, dtype=np.int64)
    rank[np.argsort(outlets, kind="stable")] = np.arange(m)
    decile = rank * 10 // m
    decile_rows = np.bincount(decile, weights=outlets, minlength=10)
    decile_foreign = np.bincount(decile, weights=per_merchant["foreign_rows"].astype(np.float64), minlength=10)
    return {
        "merchants": m,
        "countries": scalars[2],
        "rows": scalars[0],
        "pairs": sites.size,
        "distinct_site_ids": scalars[1],
        "distinct_merchant_site_ids": reuse[0],
        "outlets_min": outlets.min(), "outlets_median": _quantile(outlets, 0.5), "outlets_p90": _quantile(outlets, 0.9),
        "outlets_p99": _quantile(outlets, 0.99), "outlets_max": outlets.max(),
        "legal_min": legal.min(), "legal_median": _quantile(legal, 0.5), "legal_p90": _quantile(legal, 0.9),
        "legal_max": legal.max(),
        "sites_median": _quantile(sites, 0.5), "sites_p90": _quantile(sites, 0.9), "sites_p99": _quantile(sites, 0.99),
        "sites_max": sites.max(),
        "foreign_min": foreign.min(), "foreign_median": _quantile(foreign, 0.5), "foreign_max": foreign.max(),
        "gini": _gini(outlets),
        "top1": _top_share(outlets, 0.01), "top5": _top_share(outlets, 0.05), "top10": _top_share(outlets, 0.10),
        "multi_country": float(np.mean(legal > 1)),
        "home_ne_legal_rows": float(per_merchant["foreign_rows"].sum() / outlets.sum()),
        "reused_site_ids": reuse[1] / reuse[0],
        "merchants_reusing": reuse[2] / m,
        "decile_foreign_share": decile_foreign / decile_rows,
        "largest_legal": int(legal[np.argmax(outlets)]),
        "max_sites": int(sites.max()),
        "sum_max_sites": int(con.execute(
            "SELECT sum(mx) FROM (SELECT max(final_country_outlet_count) AS mx FROM oc GROUP BY merchant_id)").fetchone()[0]),
        "outlets": outlets,
        "legal": legal,
        "legal_countries": {r[0] for r in con.execute("SELECT DISTINCT legal_country_iso FROM oc").fetchall()},
        "all_flags_true": con.execute("SELECT bool_and(single_vs_multi_flag) FROM oc").fetchone()[0],
        "reuse_within_country": con.execute("""
            SELECT count(*) FROM (SELECT merchant_id, legal_country_iso, site_id FROM oc
                                  GROUP BY ALL HAVING count(*) > 1)""").fetchone()[0],
    }


@pytest.fixture(scope="module")
def metrics(tmp_path_factory) -> dict:
    world = WorldView.open(shared_world(tmp_path_factory.getbasetemp(), seed=42))
    return measure(str(world.path("outlet_catalogue") / "*.parquet"))


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_within_ten_percent(metrics, name):
    target = COUNTS[name]
    assert abs(metrics[name] - target) <= COUNT_TOL * target, f"{name}: {metrics[name]} vs {target}"


@pytest.mark.parametrize("name", sorted(QUANTILES))
def test_quantiles_within_fifteen_percent(metrics, name):
    target = QUANTILES[name]
    assert abs(metrics[name] - target) <= QUANTILE_TOL * target, f"{name}: {metrics[name]} vs {target}"


@pytest.mark.parametrize("name", sorted(SHARES))
def test_shares_within_three_points(metrics, name):
    target = SHARES[name]
    assert abs(metrics[name] - target) <= SHARE_TOL, f"{name}: {metrics[name]:.4f} vs {target}"


def test_home_ne_legal_share_in_every_size_decile(metrics):
    shares = metrics["decile_foreign_share"]
    assert np.all((shares >= 0.35) & (shares <= 0.48)), np.round(shares, 3).tolist()


def test_largest_merchant_is_single_country(metrics):
    assert metrics["largest_legal"] == 1


def test_multi_zone_anchor_countries_present(metrics):
    assert {"US", "RU", "BR", "CA", "MX"} <= metrics["legal_countries"]


def test_site_id_identities(metrics):
    # distinct site_id values = the largest n; distinct (merchant, site_id) = sum of largest n
    assert metrics["distinct_site_ids"] == metrics["max_sites"]
    assert metrics["distinct_merchant_site_ids"] == metrics["sum_max_sites"]
    assert metrics["reuse_within_country"] == 0


def test_no_single_site_merchants_in_baseline(metrics):
    assert metrics["all_flags_true"] is True
    assert metrics["outlets_min"] >= 2


def test_tail_is_straight_on_log_log(metrics):
    """Above the median, log CCDF is close to linear in log N (R^2 >= 0.95) and the
    slope is that of a heavy tail (|slope| between 1 and 3)."""
    outlets = np.sort(metrics["outlets"])
    ccdf = 1.0 - np.arange(outlets.size) / outlets.size
    tail = outlets >= np.median(outlets)
    x, y = np.log(outlets[tail]), np.log(ccdf[tail])
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    r2 = 1.0 - residual.var() / y.var()
    assert r2 >= 0.95, r2
    assert -3.0 <= slope <= -1.0, slope


def test_bigger_merchants_span_more_countries(metrics):
    outlets, legal = metrics["outlets"], metrics["legal"]
    order = np.argsort(outlets, kind="stable")
    deciles = np.array_split(legal[order], 10)
    means = [d.mean() for d in deciles]
    assert means[-1] > 2 * means[0], means
    assert means[-1] > means[4] > means[0], means
