"""Bridge between the dbt Python model of S0 and the S0 gate (kept thin on the dbt side)."""
from __future__ import annotations

import json

import pyarrow as pa

from ..core.context import RunContext, RunSelectionError
from ..core.identity import ReceiptError
from .s0_gate import S0Failure, run_s0


def context_from_session(session) -> RunContext:
    """The run selected by the plugin for this dbt invocation."""
    try:
        return RunContext.from_session(session)
    except (RunSelectionError, ReceiptError) as exc:
        raise S0Failure("010", "INFRASTRUCTURE", str(exc), operation="read", io_error_class="run_receipt_invalid") from exc


def gate_receipt_table(session) -> pa.Table:
    """Run S0 and return the published receipt as a one-row table (nested parts as JSON)."""
    outcome = run_s0(context_from_session(session))
    receipt = outcome.receipt
    row = {
        "version": receipt["version"],
        "manifest_fingerprint": receipt["manifest_fingerprint"],
        "parameter_hash": receipt["parameter_hash"],
        "seed": receipt["seed"],
        "verified_at_utc": receipt["verified_at_utc"],
        "upstream_gates": json.dumps(receipt["upstream_gates"], sort_keys=True),
        "catalogue_versions": json.dumps(receipt["catalogue_versions"], sort_keys=True),
        "sealed_policy_set": json.dumps(receipt["sealed_policy_set"], sort_keys=True),
        "sealed_input_count": len(outcome.rows),
    }
    schema = pa.schema([
        ("version", pa.string()), ("manifest_fingerprint", pa.string()), ("parameter_hash", pa.string()),
        ("seed", pa.uint64()), ("verified_at_utc", pa.string()), ("upstream_gates", pa.string()),
        ("catalogue_versions", pa.string()), ("sealed_policy_set", pa.string()), ("sealed_input_count", pa.int64()),
    ])
    return pa.Table.from_pylist([row], schema=schema)
