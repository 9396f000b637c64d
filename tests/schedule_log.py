"""Which worker ran what, when: with SEG3A_TEST_SCHEDULE_LOG=<file> set, the pytest
process that reports the tests (the controller under xdist) appends one line per test
phase to <file>: worker, phase, start, stop (epoch seconds), node id, tab-separated.

`python -m tests.schedule_log <file>` sums it up per worker: when it started and
stopped, how long it ran tests, how long it idled while the other still ran, and the
longest units (xdist groups, else tests) it ran last, to see whether a long group
started late."""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

VARIABLE = "SEG3A_TEST_SCHEDULE_LOG"


class ScheduleLog:
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def pytest_runtest_logreport(self, report) -> None:
        node = getattr(report, "node", None)
        worker = node.gateway.id if node is not None else "main"
        with self.path.open("a") as log:
            log.write(f"{worker}\t{report.when}\t{report.start:.3f}\t{report.stop:.3f}\t{report.nodeid}\n")


def unit_of(nodeid: str) -> str:
    """The xdist unit of a node id: its group (after `@`), else the test itself."""
    head, _, group = nodeid.rpartition("@")
    return group if head and "]" not in group else nodeid


def summary(path: Path) -> str:
    spans: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        worker, _when, start, stop, nodeid = line.split("\t", 4)
        spans[worker].append((float(start), float(stop), nodeid))
    begin = min(start for rows in spans.values() for start, _, _ in rows)
    end = max(stop for rows in spans.values() for _, stop, _ in rows)
    lines = [f"{len(spans)} workers, {end - begin:.0f} s from the first test to the last"]
    for worker, rows in sorted(spans.items()):
        first, last = min(r[0] for r in rows), max(r[1] for r in rows)
        busy = sum(stop - start for start, stop, _ in rows)
        units: dict[str, list[float]] = defaultdict(lambda: [float("inf"), 0.0])
        for start, stop, nodeid in rows:
            unit = units[unit_of(nodeid)]
            unit[0], unit[1] = min(unit[0], start), max(unit[1], stop)
        late = sorted(units.items(), key=lambda kv: -kv[1][0])[:40]
        longest = sorted(late, key=lambda kv: kv[1][0] - kv[1][1])[:5]
        lines.append(f"{worker}: tests from {first - begin:.0f} s to {last - begin:.0f} s, busy {busy:.0f} s, "
                     f"idle at the end {end - last:.0f} s")
        lines += [f"    late unit {name} from {s - begin:.0f} s, {e - s:.0f} s" for name, (s, e) in longest]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1])))
