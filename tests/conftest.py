"""Shared fixtures: one small generated world per session (reference data built on
demand), and per-test copies that a test may break without affecting the others."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seg3a.core.context import RunContext
from seg3a.core.identity import RECEIPT_NAME, parse_receipt
from seg3a.world.testing import shared_world

SMALL_PAIRS = 300


@pytest.fixture(scope="session")
def worlds_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worlds")


@pytest.fixture(scope="session")
def small_world(worlds_base) -> Path:
    """Run root of a small seed-42 world (about 300 merchant x country pairs)."""
    return shared_world(worlds_base, seed=42, pairs=SMALL_PAIRS)


def copy_run(run_root: Path, destination: Path) -> Path:
    """Copy a run root (keeping its run_id directory name) under `destination`."""
    target = Path(destination) / "runs" / Path(run_root).name
    shutil.copytree(run_root, target)
    return target


@pytest.fixture
def world_copy(small_world, tmp_path) -> Path:
    """A private copy of the small world's run root."""
    return copy_run(small_world, tmp_path)


def context_of(run_root: Path) -> RunContext:
    return RunContext.from_receipt(parse_receipt(Path(run_root) / RECEIPT_NAME))
