"""Human-readable end-of-run summary of one 3A run: status, time and counts per state
(read from the run reports; S0, which has none, from segment_state_runs), whether the
segment is sealed, and where the outputs are.

`main(argv)` is `seg3a summary`; `on_run_end(run_root)` is the entry point for dbt's
on-run-end hook (through the `s3a_run_summary` UDF): it prints the summary and never
raises, because a summary must not turn a finished build into a failed one.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cli import add_run_arguments, resolve_run
from ..core.context import RunContext
from ..core.run_database import run_database
from .s7_members import FLAG_NAME, INDEX_NAME

STATES = ("S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7")
# The counters shown per state (the run reports hold more).
HEADLINE_COUNTS = {
    "S0": ("sealed_input_count_total", "sealed_policy_count"),
    "S1": ("pairs_total", "pairs_escalated", "pairs_monolithic"),
    "S2": ("countries_total", "zones_total"),
    "S3": ("pairs_escalated", "rows_total", "rng_events"),
    "S4": ("zone_rows_total", "zones_zero_allocated", "pairs_count_conservation_violations"),
    "S5": ("zone_rows_total", "pairs_escalated", "zones_per_pair_avg"),
    "S6": ("issues_total", "issues_error", "issues_warn", "zone_alloc_rows"),
    "S7": ("member_count", "member_bytes"),
}
OUTPUTS = (
    ("zone_alloc", "zone_alloc"),
    ("zone_alloc_universe_hash", "universe hash"),
    ("s6_validation_report_3A", "S6 report"),
    ("s6_issue_table_3A", "S6 issues"),
    ("s6_receipt_3A", "S6 receipt"),
    ("validation_bundle_3A", "bundle"),
)


@dataclass(frozen=True)
class StateLine:
    state: str
    status: str                       # PASS, FAIL or "-" when the state has not reported
    wall_ms: int | None
    counts: dict[str, Any]
    error_code: str | None
    phase: str | None
    other_run: str | None             # run_id of a report left by another run


@dataclass
class Summary:
    run_id: str
    seed: int
    manifest_fingerprint: str
    parameter_hash: str
    states: list[StateLine] = field(default_factory=list)
    outputs: list[tuple[str, Path, bool]] = field(default_factory=list)
    flag: str | None = None

    @property
    def sealed(self) -> bool:
        return self.flag is not None and all(line.status == "PASS" and not line.other_run for line in self.states)


# --------------------------------------------------------------------------- reading
def _load(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _s0_row(ctx: RunContext) -> dict | None:
    """The newest S0 row of this run in segment_state_runs (S0 writes no run report)."""
    root = ctx.run_root / "reports/layer1/segment_state_runs/segment=3A"
    rows = []
    for path in sorted(root.glob("utc_day=*/segment_state_runs.jsonl")):
        for line in path.read_text(encoding="ascii", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if row.get("state") == "S0" and row.get("run_id") == ctx.tokens.run_id:
                rows.append(row)
    return rows[-1] if rows else None


def _state_line(ctx: RunContext, state: str) -> StateLine:
    if state == "S0":
        row = _s0_row(ctx)
        if row is None:
            return StateLine(state, "-", None, {}, None, None, None)
        counts = {k: row[k] for k in HEADLINE_COUNTS["S0"] if k in row}
        return StateLine(state, row.get("status", "-"), row.get("elapsed_ms"), counts, row.get("error_code"),
                         row.get("first_failure_phase"), None)
    report = _load(ctx.path(f"s{state[1:]}_run_report_3A"))
    if report is None:
        return StateLine(state, "-", None, {}, None, None, None)
    counts = report.get("counts") or {}
    shown = {k: counts[k] for k in HEADLINE_COUNTS[state] if counts.get(k) is not None}
    other = report.get("run_id") if report.get("run_id") != ctx.tokens.run_id else None
    return StateLine(state, str(report.get("status", "-")), (report.get("durations") or {}).get("wall_ms"), shown,
                     report.get("error_code"), report.get("first_failure_phase"), other)


def collect(ctx: RunContext) -> Summary:
    tokens = ctx.tokens
    summary = Summary(tokens.run_id, tokens.seed, tokens.manifest_fingerprint, tokens.parameter_hash)
    summary.states = [_state_line(ctx, state) for state in STATES]
    for dataset_id, label in OUTPUTS:
        path = ctx.path(dataset_id)
        summary.outputs.append((label, path, path.exists()))
    bundle = ctx.path("validation_bundle_3A")
    flag = bundle / FLAG_NAME
    if flag.is_file() and (bundle / INDEX_NAME).is_file():
        summary.flag = flag.read_text(encoding="ascii", errors="replace").strip()
    return summary


# --------------------------------------------------------------------------- rendering
def _counts_text(counts: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)
    return " ".join(f"{k}={value(v)}" for k, v in counts.items())


def render(summary: Summary, database: str | None = None) -> str:
    lines = [
        f"seg3a 3A run {summary.run_id}  seed={summary.seed}",
        f"  manifest_fingerprint={summary.manifest_fingerprint}",
        f"  parameter_hash={summary.parameter_hash}",
        "",
        f"  {'state':<6}{'status':<8}{'ms':>7}  counts",
    ]
    for line in summary.states:
        ms = "" if line.wall_ms is None else str(line.wall_ms)
        detail = _counts_text(line.counts)
        if line.error_code:
            detail = f"{line.error_code} (phase {line.phase}) {detail}".rstrip()
        if line.other_run:
            detail = f"[report of run {line.other_run}] {detail}"
        lines.append(f"  {line.state:<6}{line.status:<8}{ms:>7}  {detail}".rstrip())
    lines += ["", "  outputs:"]
    for label, path, exists in summary.outputs:
        lines.append(f"    {label:<14}{path}{'' if exists else '  (absent)'}")
    if database:
        lines.append(f"    {'duckdb':<14}{database}")
    lines.append("")
    lines.append(_verdict(summary))
    return "\n".join(lines)


def _verdict(summary: Summary) -> str:
    if summary.sealed:
        return f"  3A SEALED: {summary.flag}  (check with `seg3a verify --run-id {summary.run_id}`)"
    failed = next((line for line in summary.states if line.status == "FAIL"), None)
    if failed is not None:
        return f"  3A NOT SEALED: {failed.state} failed with {failed.error_code} in phase {failed.phase}"
    missing = [line.state for line in summary.states if line.status != "PASS" or line.other_run]
    return f"  3A NOT SEALED: no PASS report of this run for {', '.join(missing) or 'the bundle'}"


def summary_text(run_root: Path | str) -> tuple[str, bool]:
    """(rendered summary, sealed) of the run whose receipt is at `run_root`."""
    ctx = RunContext.from_run_root(run_root)
    summary = collect(ctx)
    return render(summary, str(run_database(ctx.tokens.run_id))), summary.sealed


def on_run_end(run_root: str | None) -> str:
    """Print the summary at the end of a dbt build; never raises."""
    try:
        if not run_root:
            text = "seg3a: no run selected, no summary"
        else:
            text, _sealed = summary_text(run_root)
    except Exception as exc:  # the summary is informative only
        text = f"seg3a: summary unavailable ({type(exc).__name__}: {exc})"
    print(text, flush=True)
    return text


# --------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(
        prog="seg3a summary",
        description="Print status, time and counts per state of a 3A run, whether it is sealed, and where its "
                    "outputs are. Exit status 0 when the run is sealed (every state PASS, flag present), 1 "
                    "otherwise, 2 when no run can be found.",
    )
    add_run_arguments(cli, "summarise")
    args = cli.parse_args(argv)
    ctx = resolve_run("seg3a summary", "summarise", args.runs_root, args.run_id)
    if ctx is None:
        return 2
    text, sealed = summary_text(ctx.run_root)
    print(text)
    return 0 if sealed else 1


if __name__ == "__main__":
    sys.exit(main())
