"""s3_zone_shares and s4_zone_counts are published by renaming the file their checking
model (int_s3__zone_shares_checked, int_s4__zone_counts_checked) wrote in key order and
checked, not by streaming and writing the same rows a second time; without that stage
(the checking model did not run in the invocation) the publishing model writes the rows
itself. Either way the published bytes are those of a full build, the write-once rule
holds and no stage is left behind.

Which path was taken is read from the clocks: a file published by rename was written
before the publishing model started executing (dbt's run_results.json), a file the
publishing model wrote, after."""
from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.e2e.conftest import Seg3aProject, s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_fault_injection import assert_no_staging
from tests.e2e.test_s3_s4 import build
from tests.e2e.test_s5_publish_by_rename import sha256
from tests.e2e.test_s5_s7 import FULL, snapshot_after

# dataset -> (checking model, publishing model)
MODELS = {
    "s3_zone_shares": ("int_s3__zone_shares_checked", "int_s3__zone_shares_published"),
    "s4_zone_counts": ("int_s4__zone_counts_checked", "int_s4__zone_counts_published"),
}


def part_file(project: Seg3aProject, dataset_id: str) -> Path:
    return project.path(dataset_id) / "part-00000.parquet"


def execution_start(project: Seg3aProject, model: str) -> datetime:
    """When dbt started executing `model` in the last invocation."""
    results = json.loads((project.work / "dbt-target" / "run_results.json").read_text())
    for result in results["results"]:
        if result["unique_id"].endswith(f".{model}"):
            execute = next(t for t in result["timing"] if t["name"] == "execute")
            return datetime.fromisoformat(execute["started_at"].replace("Z", "+00:00"))
    raise AssertionError(f"{model} did not run")


def written_at(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def rebuild(project: Seg3aProject, dataset_id: str, *models: str) -> Path:
    """Remove the published partition, build `models`; the part file published again."""
    shutil.rmtree(project.path(dataset_id))
    result = build(project, *models)
    assert result.ok, result.output[-4000:]
    return part_file(project, dataset_id)


@pytest.fixture
def full(s1s2_session) -> Seg3aProject:
    return snapshot_after(s1s2_session, FULL)


@pytest.mark.e2e
@pytest.mark.parametrize("dataset_id", MODELS)
def test_published_by_renaming_the_checked_stage(full, dataset_id):
    checking, publishing = MODELS[dataset_id]
    published = sha256(part_file(full, dataset_id))
    part = rebuild(full, dataset_id, checking, publishing)
    assert written_at(part) < execution_start(full, publishing), "the publishing model wrote the rows again"
    assert sha256(part) == published
    assert_no_staging(full.run_root)


@pytest.mark.e2e
@pytest.mark.parametrize("dataset_id", MODELS)
def test_without_a_checked_stage_the_rows_are_written(full, dataset_id):
    _, publishing = MODELS[dataset_id]
    published = sha256(part_file(full, dataset_id))
    part = rebuild(full, dataset_id, publishing)
    assert written_at(part) > execution_start(full, publishing), "a stage of another invocation was published"
    assert sha256(part) == published
    assert_no_staging(full.run_root)


@pytest.mark.e2e
@pytest.mark.parametrize("dataset_id", MODELS)
def test_an_identical_published_partition_is_left_as_it_is(full, dataset_id):
    before = part_file(full, dataset_id).stat()
    result = build(full, *MODELS[dataset_id])
    assert result.ok, result.output[-4000:]
    after = part_file(full, dataset_id).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert_no_staging(full.run_root)


# dataset -> (stored table a duplicated row of which repeats a key of the dataset, code)
DUPLICATED = {
    "s3_zone_shares": ("int_s3__draws", "E3A_S3_004"),
    "s4_zone_counts": ("int_s4__zone_counts_integerised", "E3A_S4_007"),
}


@pytest.mark.e2e
@pytest.mark.parametrize("dataset_id", MODELS)
def test_a_repeated_key_fails_the_checking_model_and_nothing_is_published(full, dataset_id):
    table, code = DUPLICATED[dataset_id]
    full.sql(f"insert into main.{table} (select * from main.{table} limit 1)")
    shutil.rmtree(full.path(dataset_id))
    result = build(full, *MODELS[dataset_id])
    assert not result.ok
    assert code in result.output and "duplicate_output_key" in result.output, result.output[-4000:]
    checking, _ = MODELS[dataset_id]
    assert re.search(rf"Error in model {checking}\b", result.output), result.output[-4000:]
    assert not full.path(dataset_id).exists()
    assert_no_staging(full.run_root)
