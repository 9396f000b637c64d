"""Which DuckDB database a run uses and how runs are listed: one file per run under the
database folder (SEG3A_DUCKDB overrides), runs ordered like the default run selection,
and the messages that name an unknown run and the runs present."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from seg3a import runs as runs_cli
from seg3a.core.identity import RECEIPT_NAME, select_receipt
from seg3a.core.run_database import describe_runs, run_database, run_selection_problem, runs_present
from seg3a.world.testing import shared_world
from tests.conftest import SMALL_PAIRS, copy_run


def receipt(root: Path, run_id: str, created: str) -> Path:
    (root / run_id).mkdir(parents=True)
    path = root / run_id / RECEIPT_NAME
    path.write_text(json.dumps({"created_utc": created}))
    return path


def test_each_run_has_its_own_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SEG3A_DUCKDB", raising=False)
    assert run_database("abc", tmp_path) == tmp_path / "abc" / "seg3a.duckdb"
    assert run_database("abc", tmp_path) != run_database("abd", tmp_path)
    monkeypatch.setenv("SEG3A_DUCKDB", str(tmp_path / "one.duckdb"))
    assert run_database("abc", tmp_path) == tmp_path / "one.duckdb"


def test_runs_are_listed_oldest_first_and_the_newest_is_marked(tmp_path):
    receipt(tmp_path, "b", "2026-01-02T00:00:00.000000Z")
    receipt(tmp_path, "a", "2026-01-03T00:00:00.000000Z")
    older = receipt(tmp_path, "c", "2026-01-01T00:00:00.000000Z")
    os.utime(older, (older.stat().st_mtime + 100,) * 2)  # created_utc wins over mtime
    assert runs_present(tmp_path) == ["c", "b", "a"]
    assert describe_runs(tmp_path) == "runs here: c, b, a (newest)"
    assert describe_runs(tmp_path / "none") == f"no runs under {tmp_path / 'none'}"


def test_an_unknown_or_broken_run_is_named(tmp_path):
    receipt(tmp_path, "a", "2026-01-03T00:00:00.000000Z")
    assert run_selection_problem(tmp_path, "zz", OSError("x")) == f"no run zz under {tmp_path}; runs here: a (newest)"
    (tmp_path / "b").mkdir()
    assert run_selection_problem(tmp_path, "b", OSError("gone")).startswith(f"run b has no usable {RECEIPT_NAME} (gone)")


def test_the_listing_agrees_with_the_default_run(small_world, worlds_base, tmp_path, capsys):
    first = copy_run(small_world, tmp_path)
    second = copy_run(shared_world(worlds_base, seed=7, pairs=SMALL_PAIRS), tmp_path)
    stamp = (first / RECEIPT_NAME).stat().st_mtime + 60
    os.utime(second / RECEIPT_NAME, (stamp, stamp))
    assert runs_present(first.parent)[-1] == select_receipt(first.parent).run_id == second.name
    assert runs_cli.main(["--runs-root", str(first.parent), "--seed", "42", "--newest"]) == 0
    assert capsys.readouterr().out.split() == [first.name]
    assert runs_cli.main(["--runs-root", str(first.parent), "--seed", "9"]) == 2
    assert "no run of seed 9" in capsys.readouterr().err
