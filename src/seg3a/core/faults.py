"""Fault injection: kill the process at a named point of publication, to prove that no
partial output is ever visible and that a rerun completes byte-identically.

`SEG3A_FAULT=<point>[@<text>][#<n>]` sends SIGKILL to the process the n-th time (default
the first) it reaches `<point>` for a target whose path contains `<text>`. Points:

| point | where |
|---|---|
| `staged` | the output is written in its stage, before any rename |
| `before_rename` | right before the rename that publishes the output |
| `after_rename` | right after it (the next output, e.g. the state's run report, is not written yet) |
| `rng_log_writing` | inside the RNG event/trace writer, after the first batch of lines |
| `bundle_index_written` | inside S7, `index.json` staged and `_passed.flag` not yet |

Targets are the published paths: datasets, run reports, `segment_state_runs`, RNG logs,
the bundle. `SEG3A_FAULT_TRACE=<file>` appends one line `<point> <target>` per point
reached instead (to list the points a build passes). Both are for tests; unset, a
checkpoint costs one environment lookup.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

FAULT_VARIABLE = "SEG3A_FAULT"
TRACE_VARIABLE = "SEG3A_FAULT_TRACE"
POINTS = ("staged", "before_rename", "after_rename", "rng_log_writing", "bundle_index_written")
_reached: dict[str, int] = {}


def parse(spec: str) -> tuple[str, str, int]:
    """`point[@text][#n]` -> (point, text, n)."""
    rest, _, count = spec.partition("#")
    point, _, text = rest.partition("@")
    if point not in POINTS:
        raise ValueError(f"{FAULT_VARIABLE}: unknown point {point!r}; one of {', '.join(POINTS)}")
    return point, text, int(count) if count else 1


def checkpoint(point: str, target: Path | str) -> None:
    trace = os.environ.get(TRACE_VARIABLE)
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(f"{point} {target}\n")
    spec = os.environ.get(FAULT_VARIABLE)
    if not spec:
        return
    wanted, text, count = parse(spec)
    if point != wanted or text not in str(target):
        return
    _reached[spec] = _reached.get(spec, 0) + 1
    if _reached[spec] == count:
        print(f"seg3a fault injection: killing pid {os.getpid()} at {point} {target}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
