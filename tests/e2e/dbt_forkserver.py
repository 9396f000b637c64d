"""A dbt fork server for the tests: one process imports dbt and parses the project once,
then forks a child per `dbt build` / `run` / `test` / `ls` / `show`. Each child is a fresh copy of the
parsed process, as a `dbt` command would be after its start-up: it sets the request's
environment and working directory, sends its stdout and stderr (file descriptors 1 and
2, so child processes and C libraries too) to the request's output file, runs the
command on the parsed manifest through dbt's programmatic runner, closes DuckDB as the
command does on exit, and exits with the command's exit code (0 success, 1 a failed
node, 2 an error). A child killed (fault injection) is reported with the negative
signal number, as subprocess does. No state of one build reaches the next: every build
is its own process.

This saves every build dbt's import and the project's parse (several CPU seconds each);
the output files are the same bytes (tests/e2e/test_dbt_forkserver.py). Of dbt's own
artefacts in the target folder the child writes run_results.json (as the command does)
and no manifest.json or graph.gpickle: they would only repeat the parse, and serialising
the manifest again after every command cost about a CPU second.

Protocol (`python -m tests.e2e.dbt_forkserver <work dir>`, run from the project root):
the first request line parses the project with that request's environment and
arguments (their `--project-dir`, `--vars`), then every line on stdin is a JSON request
`{"args", "env", "cwd", "output", "timeout"}` answered by one line `{"returncode"}` on
stdout.
"""
from __future__ import annotations

import atexit
import gc
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

PARSE_FLAGS = ("--project-dir", "--vars", "--profiles-dir", "--target")


def parse_arguments(args: list[str]) -> list[str]:
    """The options of a command that decide what the parse produces."""
    kept = []
    for flag, value in zip(args, args[1:]):
        if flag in PARSE_FLAGS:
            kept += [flag, value]
    return kept


def parse_project(first: dict[str, Any], work: Path):
    from dbt.cli.main import dbtRunner

    os.environ.clear()
    os.environ.update(first["env"])
    os.chdir(first["cwd"])
    parsed = dbtRunner().invoke(["parse", "--quiet", "--no-write-json", "--target-path", str(work / "target"),
                                 "--log-path", str(work / "logs"), *parse_arguments(first["args"])])
    if not parsed.success or parsed.result is None:
        raise RuntimeError(f"dbt parse failed: {parsed.exception}")
    from seg3a.core.duck import verify_spatial
    from seg3a.dbt_in_process import compile_templates_before_fork

    verify_spatial()  # the spatial extension's signature checked here once, not in every child's build
    compile_templates_before_fork(parsed.result)  # and the templates compiled once, not in every child
    return parsed.result


def run_child(request: dict[str, Any], manifest) -> None:
    """In the forked child: run the command and exit with its code; never returns."""
    code = 2
    try:
        output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        code = invoke(request["args"], manifest)
    except BaseException:  # noqa: BLE001  (reported in the output, as a dbt crash would be)
        traceback.print_exc()
    # The exit functions a normal exit runs (multiprocessing's finalizers release the
    # semaphores dbt created), then an immediate exit: the server loop is not resumed and
    # the parsed project is not torn down object by object.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def invoke(args: list[str], manifest) -> int:
    from dbt.cli.main import dbtRunner

    from seg3a.dbt_in_process import close_duckdb

    # The parsed project, inherited from the server, lives through the whole command:
    # frozen, the garbage collector's full passes skip it. dbt would serialise that
    # manifest to manifest.json (and graph.gpickle) after every command, about a CPU second
    # the tests never read (they read no manifest of a build, run or test); the run
    # results, which they do read, are written as the command writes them.
    gc.freeze()
    result = dbtRunner(manifest=manifest).invoke([*args, "--no-write-json"])
    write_run_results(result.result, args)
    close_duckdb()  # checkpoint and release the database and the build locks, as the command's exit does
    if result.success:
        return 0
    if result.exception is not None:
        print(f"Encountered an error:\n{result.exception}", file=sys.stderr)
        return 2
    return 1


def write_run_results(run_result, args: list[str]) -> None:
    """run_results.json where the `dbt` command writes it: --target-path, else
    DBT_TARGET_PATH, else `target` in the project folder."""
    if not hasattr(run_result, "write"):
        return  # the command stopped before running any node; dbt writes none either
    options = dict(zip(args, args[1:]))
    target = options.get("--target-path") or os.environ.get("DBT_TARGET_PATH") or "target"
    path = Path(options.get("--project-dir", ".")) / target / "run_results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    run_result.write(str(path))


def wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -signal.SIGKILL
        time.sleep(0.02)


def serve(work: Path) -> None:
    # Answers go to a private copy of stdout; whatever dbt prints while parsing goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    manifest = None
    for line in sys.stdin:
        request = json.loads(line)
        if manifest is None:
            manifest = parse_project(request, work)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            run_child(request, manifest)
        returncode = wait(pid, request["timeout"])
        answers.write(json.dumps({"returncode": returncode}) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
