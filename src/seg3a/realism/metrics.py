"""The metrics of spec 06, computed from the datasets bound by data.py.

Each metric is two steps: DuckDB SQL groups the rows into one value per unit (per
country, per (country, tzid) group, per pair), then NumPy summarises those values
(median, p75, fractions). There are no per-row Python loops.

Conventions (docs/realism.md):
- Quantiles: `numpy.quantile(..., method="linear")`, NumPy's default and
  Hyndman-Fan type 7: for sorted x_0..x_{n-1}, h = (n-1)q and
  Q(q) = x_floor(h) + (h - floor(h)) * (x_floor(h)+1 - x_floor(h)).
  The median of an even count is the mean of the two middle values.
- Sample standard deviation with ddof 1 (DuckDB `stddev_samp`).
- A summary over an empty set is None (null in JSON); its gates fail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb
import numpy as np

QUANTILE_METHOD = "linear"
S1_BUCKET_MIN_PAIRS = 25
S2_NEAR_MONOLITHIC = 0.99
S3_ZONE_SHARE_MIN = 0.05
EXAMPLES = 5


@dataclass
class MetricResult:
    """`values`: the scalar metrics keyed by id (what gates read); `detail`: small
    JSON-ready context; `arrays`: per-unit values for plots (not serialised)."""

    values: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


# ------------------------------------------------------------------ summaries


def quantile(values, q: float) -> float | None:
    """Type-7 (linear) quantile; None for an empty input."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return None
    return float(np.quantile(arr, q, method=QUANTILE_METHOD))


def fraction(mask) -> float | None:
    """Share of True values; None for an empty input."""
    arr = np.asarray(mask, dtype=bool)
    return None if arr.size == 0 else float(np.count_nonzero(arr) / arr.size)


def major_dip(rates) -> tuple[float, int | None]:
    """Largest drop rate[i] - rate[i+1] between consecutive entries (already the
    supported buckets, in ascending zone count), and the index i where it occurs.
    A curve that never falls, or has fewer than two buckets, has dip 0.0."""
    arr = np.asarray(rates, dtype=np.float64)
    if arr.size < 2:
        return 0.0, None
    drops = arr[:-1] - arr[1:]
    where = int(np.argmax(drops))
    return (float(drops[where]), where) if drops[where] > 0 else (0.0, None)


def fetch_columns(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> dict[str, np.ndarray]:
    table = conn.execute(sql, params or []).fetch_arrow_table()
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


# ------------------------------------------------------------------ S1


def s1_rate(conn) -> MetricResult:
    """S1-rate: escalated pairs / all pairs. Also the rate among pairs of multi-zone
    countries (k > 1), where escalation is possible at all, and the reason counts."""
    row = conn.execute(
        """SELECT count(*), count_if(is_escalated),
                  count(*) FILTER (WHERE zone_count_country > 1),
                  count_if(is_escalated AND zone_count_country > 1)
           FROM s1_escalation_queue"""
    ).fetchone()
    pairs, escalated, multi, multi_escalated = (int(v) for v in row)
    detail = {"pairs": pairs, "escalated": escalated, "pairs_multi_zone": multi,
              "rate_multi_zone": multi_escalated / multi if multi else None}
    if has_column(conn, "s1_escalation_queue", "decision_reason"):
        reasons = conn.execute(
            "SELECT decision_reason, count(*) FROM s1_escalation_queue GROUP BY 1 ORDER BY 1"
        ).fetchall()
        detail["reason_counts"] = {str(k): int(v) for k, v in reasons}
    return MetricResult({"S1-rate": escalated / pairs if pairs else None}, detail)


def s1_curve(conn, min_pairs: int = S1_BUCKET_MIN_PAIRS) -> MetricResult:
    """S1-curve: escalation rate per zone_count_country bucket; buckets with at least
    `min_pairs` pairs are supported; major dip over consecutive supported buckets."""
    cols = fetch_columns(conn, """SELECT zone_count_country::BIGINT AS k, count(*)::BIGINT AS n,
                                    count_if(is_escalated)::BIGINT AS e
                             FROM s1_escalation_queue GROUP BY 1 ORDER BY 1""")
    k, n, e = cols["k"].astype(np.int64), cols["n"].astype(np.int64), cols["e"].astype(np.int64)
    rate = e / np.maximum(n, 1)
    supported = n >= min_pairs
    dip, where = major_dip(rate[supported])
    ks = k[supported]
    buckets = [{"zone_count": int(a), "pairs": int(b), "escalated": int(c), "rate": float(d), "supported": bool(s)}
               for a, b, c, d, s in zip(k, n, e, rate, supported)]
    detail = {"min_pairs": min_pairs, "buckets": buckets, "supported_buckets": int(supported.sum()),
              "dip_between": None if where is None else [int(ks[where]), int(ks[where + 1])]}
    return MetricResult({"S1-curve.major_dip": dip}, detail, {"k": k, "n": n, "rate": rate, "supported": supported})


def has_column(conn, relation: str, column: str) -> bool:
    return any(row[0] == column for row in conn.execute(f"DESCRIBE {relation}").fetchall())


# ------------------------------------------------------------------ S2


def s2_top1(conn, near_monolithic: float = S2_NEAR_MONOLITHIC) -> MetricResult:
    """S2-top1 and S2-ge99 over countries with more than one tzid in the priors."""
    cols = fetch_columns(conn, """SELECT country_iso, count(DISTINCT tzid)::BIGINT AS zones,
                                    max(share_effective)::DOUBLE AS top1
                             FROM s2_country_zone_priors GROUP BY 1 ORDER BY 1""")
    multi = cols["zones"] > 1
    top1 = cols["top1"][multi]
    values = {
        "S2-top1.median": quantile(top1, 0.5),
        "S2-top1.p75": quantile(top1, 0.75),
        "S2-ge99": fraction(top1 >= near_monolithic),
    }
    per_country = [{"country_iso": str(c), "zones": int(z), "top1": float(t)}
                   for c, z, t in zip(cols["country_iso"][multi], cols["zones"][multi], top1)]
    detail = {"countries_total": int(cols["zones"].size), "countries_multi_zone": int(multi.sum()),
              "near_monolithic_threshold": near_monolithic, "multi_zone_countries": per_country}
    return MetricResult(values, detail, {"top1": top1})


# ------------------------------------------------------------------ S3


def s3_std(conn) -> MetricResult:
    """S3-std: per (legal_country_iso, tzid) with more than one merchant, the sample
    std (ddof 1) of share_drawn across merchants; median over those groups."""
    cols = fetch_columns(conn, """SELECT legal_country_iso, tzid, count(*)::BIGINT AS merchants,
                                    stddev_samp(share_drawn)::DOUBLE AS sd
                             FROM s3_zone_shares GROUP BY 1, 2 ORDER BY 1, 2""")
    keep = cols["merchants"] > 1
    sd = cols["sd"][keep].astype(np.float64)
    detail = {"groups_total": int(keep.size), "groups_scored": int(keep.sum())}
    return MetricResult({"S3-std.median": quantile(sd, 0.5)}, detail, {"std": sd})


def s3_variety(conn) -> MetricResult:
    """Merchant variety not dominated by tiny zones (spec 06, ground truth 4), reported
    beside S3-std:
    - S3-main-std: per country with more than one tzid in the priors, the sample std
      (ddof 1) across its merchants of the share drawn for the country's main zone
      (largest share_effective, ties by tzid); median over countries with more than
      one merchant;
    - S3-std-norm: per (country, tzid) group with more than one merchant and a prior
      share p strictly between 0 and 1, the sample std divided by sqrt(p (1 - p)),
      which is 1 / sqrt(tau + 1) for a Dirichlet of total tau whatever p; median over
      groups."""
    cols = fetch_columns(conn, """
        WITH prior AS (SELECT country_iso, tzid, share_effective AS p,
                              count(*) OVER (PARTITION BY country_iso) AS zones,
                              row_number() OVER (PARTITION BY country_iso ORDER BY share_effective DESC, tzid) AS rank
                       FROM s2_country_zone_priors)
        SELECT s.legal_country_iso, s.tzid, count(*)::BIGINT AS merchants,
               stddev_samp(s.share_drawn)::DOUBLE AS sd, any_value(prior.p)::DOUBLE AS p,
               any_value(prior.rank = 1 AND prior.zones > 1) AS main_zone
        FROM s3_zone_shares s JOIN prior ON prior.country_iso = s.legal_country_iso AND prior.tzid = s.tzid
        GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2""")
    sd, p = cols["sd"].astype(np.float64), cols["p"].astype(np.float64)
    main = cols["main_zone"].astype(bool)
    interior = (p > 0.0) & (p < 1.0)
    normalised = sd[interior] / np.sqrt(p[interior] * (1.0 - p[interior]))
    main_countries = [{"country_iso": str(c), "tzid": str(z), "merchants": int(n), "std": float(v), "prior_share": float(w)}
                      for c, z, n, v, w in zip(cols["legal_country_iso"][main], cols["tzid"][main],
                                               cols["merchants"][main], sd[main], p[main])]
    values = {"S3-main-std.median": quantile(sd[main], 0.5), "S3-std-norm.median": quantile(normalised, 0.5)}
    detail = {"countries_scored": int(main.sum()), "groups_normalised": int(normalised.size),
              "main_zone_by_country": main_countries}
    return MetricResult(values, detail, {"main_std": sd[main], "std_normalised": normalised})


def s3_z05(conn, threshold: float = S3_ZONE_SHARE_MIN) -> MetricResult:
    """S3-z05: per escalated pair, the number of tzids with share_drawn >= 5 %; the
    share of pairs with at least two such zones, and the median count."""
    cols = fetch_columns(conn, """SELECT count_if(share_drawn >= ?::DOUBLE)::BIGINT AS z
                             FROM s3_zone_shares GROUP BY merchant_id, legal_country_iso""", [threshold])
    z = cols["z"].astype(np.int64)
    values, counts = np.unique(z, return_counts=True)
    detail = {"pairs": int(z.size), "threshold": threshold,
              "histogram": {str(int(v)): int(c) for v, c in zip(values, counts)}}
    return MetricResult({"S3-z05.share_ge2": fraction(z >= 2), "S3-z05.median": quantile(z, 0.5)}, detail, {"z05": z})


# ------------------------------------------------------------------ S4 and zone_alloc


def _pair_counts(conn, relation: str) -> dict[str, np.ndarray]:
    """Per pair: zones with outlets, the largest zone count and the total."""
    return fetch_columns(conn, f"""SELECT count_if(zone_site_count > 0)::BIGINT AS nonzero,
                                     max(zone_site_count)::BIGINT AS top,
                                     sum(zone_site_count)::BIGINT AS total
                              FROM {relation} GROUP BY merchant_id, legal_country_iso
                              ORDER BY merchant_id, legal_country_iso""")


def _top1_shares(cols: dict[str, np.ndarray]) -> np.ndarray:
    """max / total per pair; pairs with total 0 (a conservation failure) are left out."""
    total = cols["total"].astype(np.float64)
    keep = total > 0
    return cols["top"].astype(np.float64)[keep] / total[keep]


def s4_counts(conn) -> MetricResult:
    """S4-multi (pairs with more than one zone holding outlets) and S4-top1."""
    cols = _pair_counts(conn, "s4_zone_counts")
    nonzero = cols["nonzero"].astype(np.int64)
    top1 = _top1_shares(cols)
    values = {"S4-multi": fraction(nonzero > 1), "S4-top1.median": quantile(top1, 0.5), "S4-top1.p75": quantile(top1, 0.75)}
    zones, counts = np.unique(nonzero, return_counts=True)
    detail = {"pairs": int(nonzero.size),
              "realised_zones_histogram": {str(int(v)): int(c) for v, c in zip(zones, counts)}}
    return MetricResult(values, detail, {"nonzero": nonzero, "top1": top1})


def za_top1(conn) -> MetricResult:
    """ZA-top1: S4-top1 computed on the zone_alloc egress."""
    cols = _pair_counts(conn, "zone_alloc")
    top1 = _top1_shares(cols)
    values = {"ZA-top1.median": quantile(top1, 0.5)}
    detail = {"pairs": int(cols["total"].size), "p75": quantile(top1, 0.75)}
    return MetricResult(values, detail, {"top1": top1})


# ------------------------------------------------------------------ CONS


def _conservation_sql(relation: str, own_totals: tuple[str, ...]) -> str:
    """One row per pair of `relation` or of the escalated S1 set, with the first
    conservation problem found (null when the pair conserves)."""
    aggregates = ", ".join(f"min({c}) AS {c}_min, max({c}) AS {c}_max" for c in own_totals)
    own = " OR ".join(f"p.{c}_min <> p.{c}_max OR p.{c}_max <> p.zone_sum" for c in own_totals)
    return f"""
        WITH p AS (
            SELECT merchant_id, legal_country_iso, sum(zone_site_count)::BIGINT AS zone_sum,
                   min(zone_site_count) AS count_min, {aggregates}
            FROM {relation} GROUP BY merchant_id, legal_country_iso),
        e AS (SELECT merchant_id, legal_country_iso, site_count
              FROM s1_escalation_queue WHERE is_escalated)
        SELECT coalesce(p.merchant_id, e.merchant_id) AS merchant_id,
               coalesce(p.legal_country_iso, e.legal_country_iso) AS legal_country_iso,
               p.zone_sum, e.site_count,
               CASE WHEN p.zone_sum IS NULL THEN 'missing_pair'
                    WHEN e.site_count IS NULL THEN 'unexpected_pair'
                    WHEN p.count_min < 0 THEN 'negative_count'
                    WHEN {own} THEN 'inconsistent_total'
                    WHEN p.zone_sum <> e.site_count THEN 'sum_not_site_count'
               END AS problem
        FROM p FULL OUTER JOIN e
          ON p.merchant_id = e.merchant_id AND p.legal_country_iso = e.legal_country_iso"""


def conservation(conn, relation: str) -> MetricResult:
    """CONS: every escalated pair's zone counts sum to its S1 site_count, and to the
    relation's own totals (zone_site_count_sum; zone_alloc also site_count); no
    negative counts; the pair set equals the escalated S1 set."""
    own = ("zone_site_count_sum", "site_count") if relation == "zone_alloc" else ("zone_site_count_sum",)
    base = _conservation_sql(relation, own)
    summary = conn.execute(f"SELECT problem, count(*) FROM ({base}) GROUP BY 1 ORDER BY 1 NULLS FIRST").fetchall()
    by_problem = {str(k): int(v) for k, v in summary if k is not None}
    pairs = sum(int(v) for _, v in summary)
    examples = conn.execute(
        f"""SELECT merchant_id, legal_country_iso, problem, zone_sum, site_count FROM ({base})
            WHERE problem IS NOT NULL ORDER BY merchant_id, legal_country_iso LIMIT {EXAMPLES}"""
    ).fetchall()
    detail = {"pairs": pairs, "problems": by_problem,
              "examples": [{"merchant_id": int(m), "legal_country_iso": c, "problem": p,
                            "zone_sum": None if z is None else int(z), "site_count": None if s is None else int(s)}
                           for m, c, p, z, s in examples]}
    key = "CONS.zone_alloc" if relation == "zone_alloc" else "CONS.s4"
    return MetricResult({key: sum(by_problem.values())}, detail)


# ------------------------------------------------------------------ all


@dataclass(frozen=True)
class MetricSpec:
    name: str
    function: Callable[..., MetricResult]
    needs: tuple[str, ...]
    keys: tuple[str, ...]


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("S1-rate", s1_rate, ("s1_escalation_queue",), ("S1-rate",)),
    MetricSpec("S1-curve", s1_curve, ("s1_escalation_queue",), ("S1-curve.major_dip",)),
    MetricSpec("S2-top1", s2_top1, ("s2_country_zone_priors",), ("S2-top1.median", "S2-top1.p75", "S2-ge99")),
    MetricSpec("S3-std", s3_std, ("s3_zone_shares",), ("S3-std.median",)),
    MetricSpec("S3-variety", s3_variety, ("s3_zone_shares", "s2_country_zone_priors"),
               ("S3-main-std.median", "S3-std-norm.median")),
    MetricSpec("S3-z05", s3_z05, ("s3_zone_shares",), ("S3-z05.share_ge2", "S3-z05.median")),
    MetricSpec("S4", s4_counts, ("s4_zone_counts",), ("S4-multi", "S4-top1.median", "S4-top1.p75")),
    MetricSpec("ZA-top1", za_top1, ("zone_alloc",), ("ZA-top1.median",)),
    MetricSpec("CONS.s4", lambda conn: conservation(conn, "s4_zone_counts"),
               ("s4_zone_counts", "s1_escalation_queue"), ("CONS.s4",)),
    MetricSpec("CONS.zone_alloc", lambda conn: conservation(conn, "zone_alloc"),
               ("zone_alloc", "s1_escalation_queue"), ("CONS.zone_alloc",)),
)
METRIC_KEYS: tuple[str, ...] = tuple(k for spec in METRICS for k in spec.keys)


def compute_all(conn, available: set[str]) -> dict[str, MetricResult]:
    """Every metric whose datasets are bound; the others get None values and the
    list of datasets they lack."""
    results = {}
    for spec in METRICS:
        lacking = [d for d in spec.needs if d not in available]
        if lacking:
            results[spec.name] = MetricResult({k: None for k in spec.keys}, {"unavailable": lacking})
        else:
            results[spec.name] = spec.function(conn)
    return results


def flat_values(results: dict[str, MetricResult]) -> dict[str, Any]:
    """The scalar metrics of all results, keyed by metric id."""
    values: dict[str, Any] = {}
    for result in results.values():
        values.update(result.values)
    return values
