"""Staging lives under `<run_root>/.staging/`, outside every dataset tree; a publication
sweeps what an interrupted one of the same target left; files are replaced atomically."""
from __future__ import annotations

from pathlib import Path

import pytest

from seg3a.core import staging
from seg3a.core.partitions import make_stage
from seg3a.core.publish import ImmutabilityViolation, publish_bytes, publish_directory
from seg3a.core.reports import write_run_report  # noqa: F401  (imports the module under test)


@pytest.fixture
def run_root(tmp_path) -> Path:
    root = tmp_path / "runs" / "r1"
    root.mkdir(parents=True)
    (root / "run_receipt.json").write_text("{}")
    return root


def partition(run_root: Path) -> Path:
    return run_root / "data/layer1/3A/zone_alloc/seed=42/manifest_fingerprint=" / ("f" * 64)


def test_stages_live_under_the_run_roots_staging_folder(run_root):
    target = partition(run_root)
    stage = make_stage(target)
    assert stage.parent == run_root / ".staging"
    assert not any(p.name.startswith(("_tmp.", ".staging")) for p in target.parent.iterdir())
    assert target.parent.is_dir() and not target.exists()


def test_a_new_stage_sweeps_the_stale_ones_of_the_same_target(run_root):
    target = partition(run_root)
    stale = make_stage(target)
    (stale / "part-00000.parquet").write_bytes(b"")
    other = make_stage(run_root / "data/layer1/3A/s4_zone_counts/seed=42")
    legacy = target.parent / "_tmp.0123456789abcdef"
    legacy.mkdir()
    (legacy / "part-00000.parquet").write_bytes(b"")
    fresh = make_stage(target)
    assert fresh.is_dir() and not stale.exists() and not legacy.exists()
    assert other.is_dir()  # another target's stage is left to its own publication


def test_sweep_run_root_removes_every_stage(run_root):
    stages = [make_stage(partition(run_root)), make_stage(run_root / "reports/x.json")]
    assert sorted(staging.sweep_run_root(run_root)) == sorted(s.name for s in stages)
    assert list((run_root / ".staging").iterdir()) == []


def test_publish_bytes_leaves_no_stage_and_keeps_write_once(run_root):
    target = run_root / "data/layer1/3A/s0_gate_receipt/manifest_fingerprint=f/s0_gate_receipt_3A.json"
    assert publish_bytes(target, b"{}").created
    assert not publish_bytes(target, b"{}").created
    with pytest.raises(ImmutabilityViolation):
        publish_bytes(target, b"[]")
    assert list((run_root / ".staging").iterdir()) == []
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_publish_directory_stages_outside_the_tree(run_root):
    target = partition(run_root)
    seen = []

    def fill(stage: Path) -> None:
        seen.append(stage)
        (stage / "part-00000.parquet").write_bytes(b"x")

    publish_directory(target, fill, lambda a, b: True)
    assert seen[0].parent == run_root / ".staging"
    assert (target / "part-00000.parquet").read_bytes() == b"x"
    assert list((run_root / ".staging").iterdir()) == []


def test_replace_file_atomically_overwrites_through_a_stage(run_root):
    target = run_root / "reports/layer1/3A/state=S1/run_report.json"
    staging.replace_file_atomically(target, b"one")
    staging.replace_file_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["run_report.json"]


def test_a_target_outside_a_run_root_is_staged_beside_its_parent(tmp_path):
    target = tmp_path / "a" / "b" / "file.json"
    stage = make_stage(target)
    assert stage.parent == tmp_path / "a" / ".staging"
