"""The README's code blocks run, cheaply: every `make` target exists (`make -n`), every
seg3a command answers `--help`, every dbt selector it mentions selects something
(`dbt ls`), the shell one-liner and every SQL query run with `seg3a shell -c` on a built
run, and no path leaves the repository."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.dbt_runner import PROJECT_ROOT, run_dbt

pytestmark = pytest.mark.e2e
README = (PROJECT_ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def command_lines() -> list[list[str]]:
    """The bash blocks' commands (comments and environment assignments dropped)."""
    lines = []
    for body in blocks("bash"):
        for line in body.splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_0-9]+=.*", words[0]):
                words.pop(0)
            if words:
                lines.append(words)
    return lines


def seg3a_env(runs_root: Path, databases: Path) -> dict:
    env = {**os.environ, "SEG3A_RUNS_ROOT": str(runs_root), "SEG3A_DUCKDB_DIR": str(databases), "SEG3A_RUN_ID": ""}
    env.pop("SEG3A_DUCKDB", None)
    return env


def test_every_make_target_exists():
    targets = {words[1] for words in command_lines() if words[0] == "make" and len(words) > 1}
    assert {"run", "test", "shell", "certify", "bench"} <= targets
    for target in targets:
        done = subprocess.run(["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert done.returncode == 0, (target, done.stderr)


def test_every_seg3a_command_answers_help():
    commands = set()
    for words in command_lines():
        if words[0].endswith("bin/seg3a") and len(words) > 1:
            sub = [w for w in words[1:3] if re.fullmatch(r"[a-z]+", w)]
            commands.add(tuple(sub))
    assert ("shell",) in commands and ("report",) in commands and ("world", "generate") in commands
    for sub in commands:
        done = subprocess.run([str(BIN / "seg3a"), *sub, "--help"], capture_output=True, text=True)
        assert done.returncode == 0 and "usage" in done.stdout.lower(), (sub, done.stderr)


def test_every_selector_selects_something(tmp_path):
    selectors = set(re.findall(r"--select (\S+?)[`\s]", README))
    assert {"segment3a", "tag:s3", "s3_zone_shares+", "+s2_country_zone_priors"} <= selectors
    for selector in sorted(selectors):
        listed = run_dbt(["ls", "--select", selector, "--quiet"], tmp_path / "runs", tmp_path / "seg3a.duckdb")
        assert listed.ok, listed.output[-2000:]
        assert [line for line in listed.output.splitlines() if line.strip()], f"{selector} selects nothing"


def test_the_sql_and_the_shell_one_liner_run_on_one_run(two_runs):
    runs_root, databases, seed42, _seed7 = two_runs
    statements = [s.strip() for body in blocks("sql") for s in body.split(";") if s.strip()]
    statements = [s for s in statements if not all(line.strip().startswith("--") for line in s.splitlines())]
    assert len(statements) >= 5
    one_liners = [w for w in command_lines() if w[0].endswith("bin/seg3a") and w[1:2] == ["shell"] and "-c" in w]
    assert one_liners
    for sql in statements + [w[w.index("-c") + 1] for w in one_liners]:
        done = subprocess.run([str(BIN / "seg3a"), "shell", "--run-id", seed42, "-c", sql],
                              env=seg3a_env(runs_root, databases), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "Error" not in done.stderr, (sql, done.stderr)
        assert done.stdout.strip(), sql


def test_no_path_outside_the_repository():
    for text in [README] + [p.read_text() for p in (PROJECT_ROOT / "docs").glob("*.md")]:
        assert "../" not in text and "/work/" not in text
