"""The population truth as a run (spec 06, "ground truth wins over any gate").

Every scorecard gate on S2..S5 is a statistic of the allocation. Its ground-truth
counterpart is the same statistic on a world that differs from the run only in its
priors: each country's priors are its population shares over Z(c). The truth world
keeps the run's escalated pairs, site counts and merchant dispersion (each pair's
effective alpha sum from `s3_zone_shares`), draws Dirichlet shares with mean equal to
the population shares, integerises them by floor + largest remainder, and binds the
result under the run's dataset names, so the very functions of `metrics` compute
its statistics. A country with no population in its zones keeps the run's priors
(there is no truth to put in their place).

The draws come from the project's S3 sampler (python_udfs.rng.dirichlet_batch) with
the run's manifest_fingerprint and seed, so each pair uses the very Philox substream
it used in the run: the truth world differs from the run only through the priors, not
through sampling noise (common random numbers). Shapes are tau * q, at least
MIN_SHAPE for zones without people so the Dirichlet stays valid; dispersion is already
in tau, so the sampler's own dispersion step is off. Same run => same
truth values.
"""
from __future__ import annotations

from typing import Any, Mapping

import duckdb
import numpy as np
import pyarrow as pa

from . import data, metrics, truth
from .metrics import fetch_columns

# Smallest shape: zones without people. Near the S3 alpha_floor (1e-6) the sampler needs
# about 150 rejection windows per batch (6.8 s instead of 0.1 s on a 2,600-pair world);
# 1e-3 of a total near 35 is a mean share of 3e-5, far below the 0.5 % tail threshold,
# and close to the smallest shape the shipped pipeline gives (0.005 x 0.25).
MIN_SHAPE = 1e-3

# Only the statistics the truth world changes: the S1 decisions and the conservation
# checks are the run's own, so their gates have no population counterpart.
TRUTH_DATASETS = ("s2_country_zone_priors", "s3_zone_shares", "s4_zone_counts", "zone_alloc")

_PRIORS_SQL = """
    WITH pop AS (SELECT s2.country_iso, s2.tzid, s2.share_effective, coalesce(p.population, 0) AS population
                 FROM s2_country_zone_priors s2
                 LEFT JOIN population p ON p.country_iso = s2.country_iso AND p.tzid = s2.tzid),
    tot AS (SELECT country_iso, sum(population) AS total FROM pop GROUP BY 1)
    SELECT pop.country_iso, pop.tzid,
           CASE WHEN tot.total > 0 THEN pop.population / tot.total ELSE pop.share_effective END AS share_effective,
           tot.total > 0 AS from_population
    FROM pop JOIN tot USING (country_iso) ORDER BY 1, 2"""

_DRAW_ROWS_SQL = """
    SELECT s3.merchant_id, s3.legal_country_iso, s3.tzid, s3.alpha_sum_country::DOUBLE AS tau,
           t.share_effective AS q, s1.site_count::BIGINT AS site_count
    FROM s3_zone_shares s3
    JOIN truth_priors t ON t.country_iso = s3.legal_country_iso AND t.tzid = s3.tzid
    JOIN s1_escalation_queue s1 ON s1.merchant_id = s3.merchant_id AND s1.legal_country_iso = s3.legal_country_iso
    ORDER BY s3.merchant_id, s3.legal_country_iso, s3.tzid"""


def _pair_index(merchant: np.ndarray, country: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by pair -> pair index per row and the first row of each pair."""
    new = np.ones(merchant.size, dtype=bool)
    new[1:] = (merchant[1:] != merchant[:-1]) | (country[1:] != country[:-1])
    return np.cumsum(new) - 1, np.flatnonzero(new)


def dirichlet_draws(manifest_fingerprint: str, seed: int, merchant: np.ndarray, country: np.ndarray,
                    first: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per pair (rows sorted by pair, `first` = each pair's first
    row) with the project's sampler on the run's substreams."""
    from python_udfs.rng import dirichlet_batch

    offsets = np.append(first, alpha.size)
    batch = dirichlet_batch(manifest_fingerprint, int(seed), merchant[first], country[first].tolist(),
                            np.maximum(alpha, MIN_SHAPE), offsets)
    return np.asarray(batch.shares, dtype=np.float64)


def largest_remainder(pair: np.ndarray, first: np.ndarray, site_count: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Floor of n * share, then one more outlet to the largest remainders of each pair
    (ties: earlier row, i.e. ascending tzid) until the pair sums to n."""
    target = site_count * share
    base = np.floor(target).astype(np.int64)
    deficit = site_count[first] - np.bincount(pair, weights=base).astype(np.int64)
    order = np.lexsort((np.arange(pair.size), -(target - base), pair))
    position = np.empty(pair.size, dtype=np.int64)
    position[order] = np.arange(pair.size) - first[pair[order]]
    return base + (position < deficit[pair])


def truth_tables(conn: duckdb.DuckDBPyConnection, seed: int, manifest_fingerprint: str) -> dict[str, pa.Table]:
    """The truth world's S2..S5 tables (only the columns the metrics read). Needs the
    `population` view (truth.population_fidelity creates it) and the run's S1, S2, S3."""
    priors, cols = truth_rows(conn)
    merchant, country = cols["merchant_id"].astype(np.uint64), cols["legal_country_iso"].astype(str)
    pair, first = _pair_index(merchant, country)
    share = (dirichlet_draws(manifest_fingerprint, seed, merchant, country, first, cols["tau"] * cols["q"])
             if pair.size else np.zeros(0))
    return world_tables(priors, merchant, country, cols["tzid"], cols["site_count"].astype(np.int64), pair, first, share)


def truth_rows(conn: duckdb.DuckDBPyConnection) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """The truth world's priors (country_iso, tzid, share_effective) and the run's S3 rows
    in (merchant_id, legal_country_iso, tzid) order with their pair's alpha sum `tau`,
    their zone's population share `q` and the pair's site count."""
    priors = conn.execute(_PRIORS_SQL).to_arrow_table()
    conn.register("truth_priors", priors)
    return priors.select(["country_iso", "tzid", "share_effective"]), fetch_columns(conn, _DRAW_ROWS_SQL)


def world_tables(priors: pa.Table, merchant: np.ndarray, country: np.ndarray, tzid: np.ndarray,
                 site_count: np.ndarray, pair: np.ndarray, first: np.ndarray, share: np.ndarray) -> dict[str, pa.Table]:
    """S2..S5 tables of a world from its priors and drawn shares (rows sorted by pair,
    ascending tzid within a pair): S4 and zone_alloc integerise the shares like S4."""
    counts = largest_remainder(pair, first, site_count, share) if pair.size else np.zeros(0, np.int64)
    keys = {"merchant_id": pa.array(merchant, pa.uint64()), "legal_country_iso": pa.array(country, pa.string()),
            "tzid": pa.array(tzid, pa.string())}
    count_cols = {"zone_site_count": pa.array(counts, pa.int64()), "zone_site_count_sum": pa.array(site_count, pa.int64())}
    return {
        "s2_country_zone_priors": priors,
        "s3_zone_shares": pa.table({**keys, "share_drawn": pa.array(share, pa.float64())}),
        "s4_zone_counts": pa.table({**keys, **count_cols}),
        "zone_alloc": pa.table({**keys, **count_cols, "site_count": pa.array(site_count, pa.uint32())}),
    }


def escalation_queue(conn: duckdb.DuckDBPyConnection) -> pa.Table:
    """The run's S1 columns the metrics read (a world keeps the run's decisions)."""
    return conn.execute("SELECT merchant_id, legal_country_iso, site_count, zone_count_country, is_escalated "
                        "FROM s1_escalation_queue").fetch_arrow_table()


def world_values(tables: Mapping[str, pa.Table], s1: pa.Table, population: pa.Table | None = None,
                 with_conservation: bool = False) -> dict[str, Any]:
    """The gate statistics of a world's tables (keyed like metrics.flat_values: only
    the metrics computed from TRUTH_DATASETS, and CONS with `with_conservation`); with
    `population`, also the ground-truth figures of its zone_alloc (population.jsd,
    tail.over_allocation, tail.tail_ratio)."""
    world = data.connect()
    try:
        for name, table in tables.items():
            data.bind_table(world, name, table)
        data.bind_table(world, "s1_escalation_queue", s1)
        specs = [s for s in metrics.METRICS if set(s.needs) <= set(TRUTH_DATASETS)
                 or (with_conservation and s.name.startswith("CONS"))]
        values = {k: v for spec in specs for k, v in spec.function(world).values.items()}
        if population is not None:
            values.update(truth.target_values(truth.population_fidelity(world, population)))
        return values
    finally:
        world.close()


def truth_values(conn: duckdb.DuckDBPyConnection, available: set[str], identity: Mapping[str, Any],
                 population: pa.Table) -> dict[str, Any]:
    """The gate statistics of the truth world, keyed like metrics.flat_values; only the
    metrics computed from TRUTH_DATASETS. Empty when the run lacks S1, S2 or S3, or S3
    lacks its alpha sums (no dispersion to carry over)."""
    needed = {"s1_escalation_queue", "s2_country_zone_priors", "s3_zone_shares"}
    if not needed <= available or not metrics.has_column(conn, "s3_zone_shares", "alpha_sum_country"):
        return {}
    truth.bind_population(population, conn)
    tables = truth_tables(conn, identity["seed"], identity["manifest_fingerprint"])
    return world_values(tables, escalation_queue(conn))
