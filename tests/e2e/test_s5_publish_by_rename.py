"""zone_alloc is published by renaming the file int_s5__zone_alloc_checked wrote and
checked (spec 04 §1.3 finalising: validate the frame, write it with PWP, publish), not
by writing the same rows a second time; without that stage (the checking model did not
run in the invocation) the post-hook writes the rows from the view as before. The
checking model writes the final frame from the masked frame's file that
int_s5__universe_digests kept in the same invocation (same rows, same order, the hash
written in), or from the rows view without one. Either way the published bytes are
those of a full build, the write-once rule holds and no stage is left behind.

Which path the post-hook took is read from the SQL dbt logs for the invocation: the
rename path sets the stage to a literal path and runs no COPY of the view."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import Seg3aProject, s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_fault_injection import assert_no_staging
from tests.e2e.test_s3_s4 import build
from tests.e2e.test_s5_s7 import FULL, snapshot_after

CHECKED_AND_PUBLISHED = ("int_s5__zone_alloc_checked", "zone_alloc")
COPY_OF_THE_VIEW = "to (getvariable('seg3a_stage') || '/part-00000.parquet')"


def zone_alloc_file(project: Seg3aProject) -> Path:
    return project.path("zone_alloc") / "part-00000.parquet"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_logging_sql(project: Seg3aProject, *selection: str) -> str:
    """Build `selection`; return the part of dbt's log file this invocation wrote."""
    log = project.work / "dbt-logs" / "dbt.log"
    start = log.stat().st_size if log.is_file() else 0
    result = build(project, *selection)
    assert result.ok, result.output[-4000:]
    with open(log, "rb") as handle:
        handle.seek(start)
        return handle.read().decode("utf-8", "replace")


def publish_hook_sql(log: str) -> str:
    """The zone_alloc post-hook's statements in the log (from its stage lookup on)."""
    start = log.find("s3a_checked_stage(")
    assert start >= 0, "the zone_alloc post-hook did not look for a checked stage"
    end = log.find("s3a_commit_partition(", start)
    assert end >= 0, "the zone_alloc post-hook did not commit"
    return log[start:end]


@pytest.fixture
def full(s1s2_session) -> Seg3aProject:
    return snapshot_after(s1s2_session, FULL)


def written_from(project: Seg3aProject) -> str:
    return project.sql("select written_from from int_s5__zone_alloc_checked")[0][0]


@pytest.mark.e2e
def test_zone_alloc_is_published_by_renaming_its_checked_stage(full):
    # the full build digested the masked frame in the same invocation and wrote the
    # final frame from that file
    assert written_from(full) == "masked_frame"
    published = sha256(zone_alloc_file(full))
    shutil.rmtree(full.path("zone_alloc"))
    hook = publish_hook_sql(build_logging_sql(full, *CHECKED_AND_PUBLISHED))
    assert "set variable seg3a_stage = '" in hook and "/.staging/" in hook, hook
    assert COPY_OF_THE_VIEW not in hook, hook
    # no masked file kept in this invocation: the frame came from the rows view, and
    # gave the same bytes
    assert written_from(full) == "frame"
    assert sha256(zone_alloc_file(full)) == published
    assert_no_staging(full.run_root)


@pytest.mark.e2e
def test_without_a_checked_stage_the_view_is_written(full):
    published = sha256(zone_alloc_file(full))
    shutil.rmtree(full.path("zone_alloc"))
    hook = publish_hook_sql(build_logging_sql(full, "zone_alloc"))
    assert COPY_OF_THE_VIEW in hook and "s3a_make_stage(" in hook, hook
    assert sha256(zone_alloc_file(full)) == published
    assert_no_staging(full.run_root)


@pytest.mark.e2e
def test_an_identical_published_partition_is_left_as_it_is(full):
    before = zone_alloc_file(full).stat()
    build_logging_sql(full, *CHECKED_AND_PUBLISHED)
    after = zone_alloc_file(full).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert_no_staging(full.run_root)
