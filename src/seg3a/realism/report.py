"""Writers: canonical JSON (core.cjson: sorted keys, fixed separators, no timestamps)
and Markdown. Everything here is a pure function of the score / certification
documents, so reruns give identical files."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from seg3a.core.cjson import cj_bytes

from .gates import B, BPLUS

CONVENTIONS = {
    "quantile": "numpy.quantile method='linear' (Hyndman-Fan type 7, NumPy's default): h=(n-1)q, "
                "Q=x[floor h]+(h-floor h)(x[floor h+1]-x[floor h]); even-count median = mean of the two middle values",
    "std": "sample standard deviation, ddof 1 (DuckDB stddev_samp)",
    "cv": "sample standard deviation (ddof 1) over the seeds divided by |mean|; undefined (fails) for < 2 seeds, "
          "a missing value or mean 0",
    "comparison": "exact binary64, no tolerance; le: v <= t, ge: v >= t, eq: v == t, in: lo <= v <= hi",
    "missing_metric": "a metric that cannot be computed is null and fails its gates",
    "jsd": "Jensen-Shannon divergence, base 2, per country on the union of zone supports (absent side = mass 0), "
           "outlet-weighted mean over countries with population",
    "s1_curve": "buckets = zone_count_country values with >= 25 pairs; major dip = largest rate[i] - rate[i+1] "
                "over consecutive supported buckets, 0.0 if none falls",
}


def write_json(path: Path, document: Mapping[str, Any]) -> Path:
    path.write_bytes(cj_bytes(document))
    return path


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v, digits) for v in value) + "]"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return lines + [""]


_OPS = {"le": "<=", "ge": ">=", "eq": "==", "in": "in"}


def truth_note(g: Mapping[str, Any]) -> str:
    """One line: what the population truth says about this gate and which basis judged it."""
    if g.get("truth_value") is None:
        return "truth not computed" if g.get("truth_relative") else "no population counterpart (the run's own decisions)"
    contradicted = [(name, g[level]) for name, level in (("B", B), ("B+", BPLUS)) if g[level].get("basis") == "truth"]
    if not contradicted:
        return f"truth {fmt(g['truth_value'])} meets the thresholds: they decide"
    reasons: dict[str, list[str]] = {}
    for name, result in contradicted:
        relation = "fails {}" if result.get("truth_fails_threshold", True) else "meets {} by less than its noise"
        reasons.setdefault(relation.format(f"{{}} {fmt(result['threshold'])}"), []).append(name)
    said = " and ".join(text.format(" and ".join(names)) for text, names in reasons.items())
    level = contradicted[0][1]
    return (f"truth {fmt(g['truth_value'])} {said}: judged against the truth, {_OPS[g['op']]} "
            f"{fmt(level['truth_bound'])} (truth within {fmt(level['tolerance'] * 100, 0)} %)")


def _level_cell(result: Mapping[str, Any]) -> str:
    if result["status"] == "n/a":
        return "-"
    if result.get("basis") == "truth":
        return f"{result['status']} (truth: {fmt(result['truth_bound'])})"
    return f"{result['status']} ({fmt(result['threshold'])})"


GATE_HEADERS = ["gate", "what it measures", "value", "truth", "B", "B+", "judged against"]


def gate_rows(gates: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    return [[f"{g['label']} ({_OPS[g['op']]})", g.get("meaning", ""), fmt(g["value"]), fmt(g.get("truth_value")),
             _level_cell(g[B]), _level_cell(g[BPLUS]), truth_note(g)] for g in gates]


LEVELS_EXPLAINED = (
    "B is the product owner's hard bar, B+ the stretch bar. A seed passes B when every B gate passes and B+ when "
    "every gate passes both; the seedpack verdict is PASS_BPLUS, PASS_B or FAIL_REALISM. Ground truth wins: where "
    "the population itself (the run with priors equal to population shares) fails a bar, or meets it by less than "
    "the statistic's run-to-run noise, the gate is judged against the population's own value within that noise "
    "instead.")


def failing_lines(gates: Sequence[Mapping[str, Any]], level: str) -> list[str]:
    """Failing gates of one level in words: what they measure, value, bar, truth."""
    lines = []
    for g in gates:
        r = g[level]
        if r["status"] != "fail":
            continue
        bar = (f"{_OPS[g['op']]} {fmt(r['truth_bound'])} (the population's value {fmt(g['truth_value'])} within "
               f"{fmt(r['tolerance'] * 100, 0)} %)" if r.get("basis") == "truth" else f"{_OPS[g['op']]} {fmt(r['threshold'])}")
        truth_text = "" if g.get("truth_value") is None or r.get("basis") == "truth" else \
            f"; the population truth gives {fmt(g['truth_value'])}"
        lines.append(f"- **{g['label']}** ({g.get('meaning') or g['metric']}): {fmt(g['value'])}, needs {bar}{truth_text}.")
    return lines


def image(name: str | None, alt: str) -> list[str]:
    return [f"![{alt}]({name})", ""] if name else []


def conventions_lines() -> list[str]:
    return ["## Conventions", ""] + [f"- **{k}**: {v}" for k, v in sorted(CONVENTIONS.items())] + [""]


# ------------------------------------------------------------------ gate table (Parquet)

GATE_TABLE_SCHEMA = pa.schema([
    ("seed", pa.uint64()), ("gate", pa.string()), ("metric", pa.string()), ("op", pa.string()),
    ("value", pa.float64()), ("b_threshold", pa.string()), ("b_status", pa.string()),
    ("bplus_threshold", pa.string()), ("bplus_status", pa.string()),
    ("truth_value", pa.float64()), ("b_basis", pa.string()), ("bplus_basis", pa.string()),
])


def gate_table_rows(seed: int | None, gates: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows for the Parquet gate table; seed None marks cross-seed (CV) rows.
    Thresholds are JSON text because the band is a pair."""
    return [{"seed": seed, "gate": g["gate"], "metric": g["metric"], "op": g["op"],
             "value": None if g["value"] is None else float(g["value"]),
             "b_threshold": cj_bytes(g[B]["threshold"]).decode(), "b_status": g[B]["status"],
             "bplus_threshold": cj_bytes(g[BPLUS]["threshold"]).decode(), "bplus_status": g[BPLUS]["status"],
             "truth_value": None if g.get("truth_value") is None else float(g["truth_value"]),
             "b_basis": g[B].get("basis", "threshold"), "bplus_basis": g[BPLUS].get("basis", "threshold")}
            for g in gates]


def write_gate_table(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """One row per (seed, gate): a table DuckDB and dbt sources read with read_parquet."""
    pq.write_table(pa.Table.from_pylist(list(rows), schema=GATE_TABLE_SCHEMA), path, compression="zstd")
    return path
