"""A checked stage is taken for publication only while it still holds its file, only for
the target it was recorded for, and only in the process that recorded it
(seg3a.core.partitions.register_checked_stage / checked_stage)."""
from __future__ import annotations

import multiprocessing

from seg3a.core.partitions import checked_stage, register_checked_stage


def _lookup_in_child(target: str, queue) -> None:
    queue.put(checked_stage(target))


def test_a_recorded_stage_is_found_while_it_holds_its_file(tmp_path):
    target = tmp_path / "data" / "zone_alloc" / "seed=1"
    stage = tmp_path / ".staging" / "zone_alloc-x.1"
    stage.mkdir(parents=True)
    register_checked_stage(target, stage)
    assert checked_stage(target) is None  # no file staged yet
    (stage / "part-00000.parquet").write_bytes(b"PAR1")
    assert checked_stage(target) == stage
    assert checked_stage(tmp_path / "data" / "zone_alloc" / "seed=2") is None
    (stage / "part-00000.parquet").unlink()  # published by rename or swept
    assert checked_stage(target) is None


def test_a_new_process_knows_no_stage(tmp_path):
    target = tmp_path / "data" / "zone_alloc" / "seed=1"
    stage = tmp_path / ".staging" / "zone_alloc-x.2"
    stage.mkdir(parents=True)
    (stage / "part-00000.parquet").write_bytes(b"PAR1")
    register_checked_stage(target, stage)
    assert checked_stage(target) == stage
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_lookup_in_child, args=(str(target), queue))
    child.start()
    found = queue.get(timeout=60)
    child.join()
    assert found is None
