"""Run reporting shared by S0..S7 (spec 01 §4.10, §5.3). Run reports are operational:
they may carry wall-clock times, and they never feed a data output."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .catalogue import Catalogue, Tokens, resolve_physical
from .cjson import jsonl_line, pretty_bytes
from .staging import append_line_atomically, replace_file_atomically

LAYER = "layer1"
SEGMENT = "3A"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_day() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


class StateClock:
    """Start/finish timestamps and elapsed milliseconds of one state invocation."""

    def __init__(self) -> None:
        self.started_at_utc = utc_now()
        self._t0 = time.monotonic()

    def finish(self) -> dict[str, Any]:
        return {
            "started_at_utc": self.started_at_utc,
            "finished_at_utc": utc_now(),
            "elapsed_ms": int((time.monotonic() - self._t0) * 1000),
        }


def identity_fields(state: str, tokens: Tokens, status: str) -> dict[str, Any]:
    return {
        "layer": LAYER,
        "segment": SEGMENT,
        "state": state,
        "parameter_hash": tokens.parameter_hash,
        "manifest_fingerprint": tokens.manifest_fingerprint,
        "run_id": tokens.run_id,
        "seed": tokens.seed,
        "status": status,
    }


def append_segment_state_run(catalogue: Catalogue, run_root: Path, tokens: Tokens, row: dict[str, Any]) -> Path:
    """Append one key-sorted JSON line to segment_state_runs (append-only, per UTC day),
    atomically (core.staging)."""
    day_tokens = Tokens(tokens.seed, tokens.parameter_hash, tokens.manifest_fingerprint, tokens.run_id, utc_day())
    path = resolve_physical(catalogue.render("segment_state_runs", day_tokens), run_root, [])
    append_line_atomically(path, jsonl_line(row))
    return path


def write_run_report(catalogue: Catalogue, run_root: Path, tokens: Tokens, report_id: str, report: dict[str, Any]) -> Path:
    """Overwrite a state's run report (not immutability-guarded), atomically."""
    path = resolve_physical(catalogue.render(report_id, tokens), run_root, [])
    replace_file_atomically(path, pretty_bytes(report))
    return path
