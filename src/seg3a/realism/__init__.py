"""Realism scorer (spec 06): metrics over a finished run's published datasets, the
B / B+ gates, the seedpack verdict, ground truth from IANA zone.tab and GeoNames
populations, and deterministic JSON / Markdown / PNG reports.

Modules:
    data     locate and bind a run's five datasets as DuckDB views
    metrics  the metric functions of 06 (SQL grouping, NumPy summaries)
    gates    gate table, per-seed evaluation, cross-seed CV, verdict
    truth    ground truth: Z(c) vs zone.tab, population fidelity (JSD), tail fidelity
    truth_world  the run with priors equal to population shares (gate counterparts)
    spread   replays of the draws under other fingerprints; the drawn-gate tolerance
    plots    deterministic PNG plots
    maps     outlets per time zone on the reference polygons
    report   canonical JSON and Markdown writers
    score    command: score one run
    certify  command: certify the seedpack
"""
from __future__ import annotations

from .gates import (
    BPLUS,
    B,
    DEFAULT_ESCALATION_BAND,
    GATES,
    PRIMARY_MEDIANS,
    SEEDPACK,
    coefficient_of_variation,
    compare,
    cross_seed_gates,
    evaluate_seed,
    verdict,
)
from .metrics import QUANTILE_METHOD, compute_all, quantile
from .truth import jsd, jsd_grouped

__all__ = [
    "B",
    "BPLUS",
    "DEFAULT_ESCALATION_BAND",
    "GATES",
    "PRIMARY_MEDIANS",
    "QUANTILE_METHOD",
    "SEEDPACK",
    "coefficient_of_variation",
    "compare",
    "compute_all",
    "cross_seed_gates",
    "evaluate_seed",
    "jsd",
    "jsd_grouped",
    "quantile",
    "verdict",
]
