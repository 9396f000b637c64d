"""Run the real dbt on a run root (no mocks): a fresh DuckDB file per call site.

`dbt_command` is the one way the tests run dbt. `build`, `run`, `test`, `ls` and `show` go through a
fork server of this worker (tests/e2e/dbt_forkserver.py): dbt imported and the project
parsed once per project, profile, vars and database name, then every command is its own
forked process with the command's environment, output and exit code. Every other
command (`parse`, `docs`, ...) and every command when
SEG3A_TEST_DBT_PROCESS=1 is set runs the `dbt` executable in a subprocess."""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
FORKED_COMMANDS = ("build", "run", "test", "ls", "show")
PROCESS_SWITCH = "SEG3A_TEST_DBT_PROCESS"


@dataclass(frozen=True)
class DbtResult:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def dbt_command(args: list[str], env: dict[str, str | None], timeout: float = 1800) -> DbtResult:
    """`dbt <args>` from the project root with `env` applied to this process's environment
    (a None value removes the variable)."""
    merged = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    environment = {name: value for name, value in merged.items() if value is not None}
    if args and args[0] in FORKED_COMMANDS and environment.get(PROCESS_SWITCH, "") != "1":
        return _server_for(args, environment).run(args, environment, timeout)
    done = subprocess.run([str(DBT), *args], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True,
                          timeout=timeout)
    return DbtResult(done.returncode, done.stdout + done.stderr)


class _ForkServer:
    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="seg3a-dbt-forkserver-"))
        self.process = subprocess.Popen([sys.executable, "-m", "tests.e2e.dbt_forkserver", str(self.work)],
                                        cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.calls = 0

    def run(self, args: list[str], env: dict[str, str], timeout: float) -> DbtResult:
        self.calls += 1
        output = self.work / f"output-{self.calls}.txt"
        request = {"args": args, "env": env, "cwd": str(PROJECT_ROOT), "output": str(output), "timeout": timeout}
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the dbt fork server stopped (exit code {self.process.poll()})")
        text = output.read_text(errors="replace")
        output.unlink()
        return DbtResult(json.loads(answer)["returncode"], text)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)
        for leftover in self.work.rglob("*"):
            if leftover.is_file():
                leftover.unlink()


_SERVERS: dict[tuple, _ForkServer] = {}


def _server_for(args: list[str], env: dict[str, str]) -> _ForkServer:
    """The server whose parsed manifest fits the command: the parse depends on the
    project, the profile, the vars, and the database file's name (DuckDB names the
    catalogue after it and every relation of the manifest carries that name)."""
    from tests.e2e.dbt_forkserver import parse_arguments

    database_name = Path(env.get("SEG3A_DUCKDB") or "seg3a.duckdb").stem
    key = (tuple(parse_arguments(args)), env.get("DBT_PROFILES_DIR", ""), database_name)
    if key not in _SERVERS:
        if not _SERVERS:
            atexit.register(_close_servers)
        _SERVERS[key] = _ForkServer()
    return _SERVERS[key]


def _close_servers() -> None:
    for server in _SERVERS.values():
        server.close()
    _SERVERS.clear()


def run_dbt(args: list[str], runs_root: Path, database: Path, run_id: str | None = None, threads: int | None = None,
            per_run: bool = False) -> DbtResult:
    """`database` is the DuckDB file, or with `per_run` the folder holding one database per
    run (SEG3A_DUCKDB_DIR, the default layout outside the tests)."""
    env: dict[str, str | None] = {
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "SEG3A_RUNS_ROOT": str(runs_root),
        "SEG3A_RUN_ID": run_id or "",
        "DBT_LOG_PATH": str(Path(database).parent / "dbt-logs"),
        "DBT_TARGET_PATH": str(Path(database).parent / "dbt-target"),
    }
    if per_run:
        env.update(SEG3A_DUCKDB=None, SEG3A_DUCKDB_DIR=str(database))
    else:
        env["SEG3A_DUCKDB"] = str(database)
    command = [*args, "--no-use-colors"]
    if threads is not None:
        command += ["--threads", str(threads)]
    return dbt_command(command, env, timeout=1200)
