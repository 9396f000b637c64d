"""S3's event and trace files are staged by int_s3__rng_logs_staged while s3_zone_shares
is written and checked (the two models do not depend on each other, so dbt's two threads
run them at once) and moved into place by rng_event_zone_dirichlet after the shares are
published (spec 03 §2.4 rule 3). Without that stage (the staging model did not run in the
invocation) the publishing model stages the lines itself. Either way the published bytes
are those of a full build and no stage is left behind.

Which path was taken is read from the clocks, as in test_s3_s4_publish_by_rename.py: a
file moved from the stage was written before the publishing model started executing."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.e2e.conftest import Seg3aProject, s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_fault_injection import assert_no_staging
from tests.e2e.test_s3_s4 import build
from tests.e2e.test_s3_s4_publish_by_rename import execution_start, written_at
from tests.e2e.test_s5_s7 import FULL, snapshot_after

STAGING, PUBLISHING = "int_s3__rng_logs_staged", "rng_event_zone_dirichlet"
SHARE_MODELS = ("int_s3__zone_shares_checked", "int_s3__zone_shares_published")


def log_files(project: Seg3aProject) -> list[Path]:
    return [project.path("rng_event_zone_dirichlet").parent / "part-00000.jsonl", project.path("rng_trace_log")]


def digests(files: list[Path]) -> list[str]:
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in files]


@pytest.fixture
def full(s1s2_session) -> Seg3aProject:
    return snapshot_after(s1s2_session, FULL)


def rebuild_logs(project: Seg3aProject, *models: str) -> list[Path]:
    """Remove the event and trace files (so S3 emits again), build `models`."""
    files = log_files(project)
    for path in files:
        path.unlink()
    result = build(project, *models)
    assert result.ok, result.output[-4000:]
    return files


def ancestors(project: Seg3aProject, model: str) -> set[str]:
    listed = project.dbt("ls", "--select", f"+{model}", "--resource-type", "model", "--output", "name", "--quiet")
    assert listed.ok, listed.output[-3000:]
    return {line.strip() for line in listed.output.splitlines() if line.strip()} - {model}


@pytest.mark.e2e
def test_the_lines_are_staged_beside_the_share_write_and_moved_after_it(full):
    published = digests(log_files(full))
    files = rebuild_logs(full, *SHARE_MODELS, STAGING, PUBLISHING)
    assert all(written_at(path) < execution_start(full, PUBLISHING) for path in files), \
        "the publishing model wrote the lines again"
    assert digests(files) == published
    assert_no_staging(full.run_root)
    # Nothing orders the staging after the shares, and the move waits for their publication.
    assert not set(SHARE_MODELS) & ancestors(full, STAGING)
    assert {STAGING, *SHARE_MODELS} <= ancestors(full, PUBLISHING)


@pytest.mark.e2e
def test_without_the_stage_the_publishing_model_stages_the_lines(full):
    published = digests(log_files(full))
    files = rebuild_logs(full, PUBLISHING)
    assert all(written_at(path) > execution_start(full, PUBLISHING) for path in files), \
        "a stage of another invocation was published"
    assert digests(files) == published
    assert_no_staging(full.run_root)


@pytest.mark.e2e
def test_in_replay_mode_nothing_is_staged_or_written(full):
    files = log_files(full)
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in files]
    result = build(full, "rng_audit_log", STAGING, PUBLISHING)  # the mode decided again: replay
    assert result.ok, result.output[-4000:]
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in files] == before
    assert full.sql(f"select rng_log_mode, lines_staged from main.{STAGING}") == [("replay", 0)]
    assert_no_staging(full.run_root)
