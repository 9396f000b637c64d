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


def _level_cell(result: Mapping[str, Any]) -> str:
    if result["status"] == "n/a":
        return "-"
    return f"{result['status']} ({fmt(result['threshold'])})"


def gate_rows(gates: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    rows = []
    for g in gates:
        note = ""
        conflict = g[BPLUS].get("ground_truth_conflict")
        if conflict:
            note = f"ground truth {conflict['ground_truth']} = {fmt(conflict['value'])} fails B+"
        rows.append([g["label"], _OPS[g["op"]], fmt(g["value"]), _level_cell(g[B]), _level_cell(g[BPLUS]), note])
    return rows


def conflict_lines(gates: Sequence[Mapping[str, Any]]) -> list[str]:
    """06: where a B+ gate contradicts ground truth, ground truth wins; say so."""
    lines = []
    for g in gates:
        conflict = g[BPLUS].get("ground_truth_conflict")
        if not conflict:
            continue
        status = g[BPLUS]["status"]
        outcome = {"pass": "this run meets B+ anyway", "waived": "B+ is waived and the B gate decides this row",
                   "fail": "B+ would be waived, but the B gate fails"}.get(status, status)
        text = (f"- **{g['label']}**: B+ asks {_OPS[g['op']]} {fmt(g[BPLUS]['threshold'])}, but the real world "
                f"({conflict['ground_truth']}) is {fmt(conflict['value'])}. Ground truth wins: {outcome}.")
        if conflict.get("ground_truth_fails_b"):
            text += (f" The real world also misses the B threshold {fmt(g[B]['threshold'])}; B stays a hard gate "
                     "(06), so the conflict is reported, not waived.")
        lines.append(text)
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
])


def gate_table_rows(seed: int | None, gates: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows for the Parquet gate table; seed None marks cross-seed (CV) rows.
    Thresholds are JSON text because the band is a pair."""
    return [{"seed": seed, "gate": g["gate"], "metric": g["metric"], "op": g["op"],
             "value": None if g["value"] is None else float(g["value"]),
             "b_threshold": cj_bytes(g[B]["threshold"]).decode(), "b_status": g[B]["status"],
             "bplus_threshold": cj_bytes(g[BPLUS]["threshold"]).decode(), "bplus_status": g[BPLUS]["status"]}
            for g in gates]


def write_gate_table(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """One row per (seed, gate): a table DuckDB and dbt sources read with read_parquet."""
    pq.write_table(pa.Table.from_pylist(list(rows), schema=GATE_TABLE_SCHEMA), path, compression="zstd")
    return path
