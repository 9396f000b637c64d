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


def journalled_pair(run_root: Path) -> tuple[Path, list[tuple[Path, Path]]]:
    """Two staged files bound for two different trees, as S3's event and trace logs."""
    events = run_root / "logs/layer1/3A/rng/events/zone_dirichlet/seed=42/part-00000.jsonl"
    trace = run_root / "logs/layer1/3A/rng/trace/seed=42/rng_trace_log.jsonl"
    stage = staging.stage_for(run_root / "logs/layer1/3A/rng")
    moves = []
    for target, data in ((events, b'{"event": 1}\n'), (trace, b'{"trace": 1}\n')):
        staged = stage / target.name
        staged.write_bytes(data)
        moves.append((staged, target))
    return stage, moves


def test_a_sweep_finishes_a_journalled_publication_cut_between_its_renames(run_root):
    stage, moves = journalled_pair(run_root)
    staging.write_publication_journal(stage, moves)
    (events_staged, events), (_, trace) = moves
    events.parent.mkdir(parents=True)
    staging.rename_into_place(events_staged, events)  # the kill comes after this rename
    assert events.is_file() and not trace.exists()
    staging.sweep_run_root(run_root)
    assert trace.read_bytes() == b'{"trace": 1}\n'
    assert events.read_bytes() == b'{"event": 1}\n'
    assert not stage.exists()


def test_a_sweep_publishes_nothing_from_a_stage_without_a_journal(run_root):
    stage, moves = journalled_pair(run_root)  # killed while staging: no journal yet
    staging.sweep_run_root(run_root)
    assert not any(target.exists() for _, target in moves)
    assert not stage.exists()


def test_rolling_forward_never_replaces_an_existing_target(run_root):
    stage, moves = journalled_pair(run_root)
    staging.write_publication_journal(stage, moves)
    (_, events), (_, trace) = moves
    trace.parent.mkdir(parents=True)
    trace.write_bytes(b"already here\n")
    assert staging.roll_forward(stage) == [events]
    assert trace.read_bytes() == b"already here\n"


def test_a_new_stage_of_the_same_target_rolls_the_journal_forward_first(run_root):
    stage, moves = journalled_pair(run_root)
    staging.write_publication_journal(stage, moves)
    fresh = staging.stage_for(run_root / "logs/layer1/3A/rng")
    assert all(target.is_file() for _, target in moves)
    assert not stage.exists() and fresh.is_dir()


# ----------------------------------------------------------------------------- stages prepared ahead
def prepared(run_root: Path, *names: str) -> tuple[Path, Path]:
    target = run_root / "logs/layer1/3A/rng"
    stage = staging.stage_for(target)
    for name in names:
        (stage / name).write_bytes(b"{}\n")
    return target, stage


def test_a_prepared_stage_is_taken_once_with_its_detail(run_root):
    target, stage = prepared(run_root, "a.jsonl", "b.jsonl")
    staging.offer_prepared_stage(target, stage, 7)
    assert staging.take_prepared_stage(target, ("a.jsonl", "b.jsonl")) == (stage, 7)
    assert staging.take_prepared_stage(target, ("a.jsonl", "b.jsonl")) is None


def test_a_prepared_stage_missing_a_file_is_not_taken(run_root):
    target, stage = prepared(run_root, "a.jsonl")
    staging.offer_prepared_stage(target, stage, 1)
    assert staging.take_prepared_stage(target, ("a.jsonl", "b.jsonl")) is None


def test_a_prepared_stage_swept_at_a_builds_start_is_not_taken(run_root):
    target, stage = prepared(run_root, "a.jsonl", "b.jsonl")
    staging.offer_prepared_stage(target, stage, 1)
    staging.sweep_run_root(run_root)
    assert staging.take_prepared_stage(target, ("a.jsonl", "b.jsonl")) is None


def test_only_the_offered_target_takes_a_stage(run_root):
    target, stage = prepared(run_root, "a.jsonl")
    staging.offer_prepared_stage(target, stage, 1)
    assert staging.take_prepared_stage(run_root / "logs/layer1/3A/other", ("a.jsonl",)) is None
    assert staging.take_prepared_stage(target, ("a.jsonl",)) == (stage, 1)
