"""Side-effecting UDFs used by the `seg3a_publish_partition` post-hook: create a staging
directory (or find the checked one a model left for the target), then commit it onto the
dictionary path with the write-once rule."""
from __future__ import annotations

import pyarrow as pa


def make_stage_arrow(targets: pa.Array) -> pa.Array:
    from seg3a.core.partitions import make_stage

    return pa.array([str(make_stage(t)) for t in targets.to_pylist()], type=pa.string())


def checked_stage_arrow(targets: pa.Array) -> pa.Array:
    """The checked stage a model of this build left for each target, or null."""
    from seg3a.core.partitions import checked_stage

    stages = [checked_stage(t) if t is not None else None for t in targets.to_pylist()]
    return pa.array([None if s is None else str(s) for s in stages], type=pa.string())


def commit_partition_arrow(dataset_ids: pa.Array, stages: pa.Array, targets: pa.Array, codes: pa.Array) -> pa.Array:
    """Returns `created` or `unchanged`; a differing existing partition raises with the
    state's immutability code, which dbt shows as the model's error."""
    from seg3a.core.partitions import PartitionImmutable, commit_partition

    results = []
    for dataset_id, stage, target, code in zip(
        dataset_ids.to_pylist(), stages.to_pylist(), targets.to_pylist(), codes.to_pylist()
    ):
        try:
            created = commit_partition(stage, target)
        except PartitionImmutable as exc:
            raise RuntimeError(
                f"{code}: {dataset_id} already published with different content "
                f"(difference_kind={exc.difference_kind}, difference_count={exc.difference_count})"
            ) from exc
        results.append("created" if created else "unchanged")
    return pa.array(results, type=pa.string())
