"""Where outputs are staged before their atomic rename (spec README "Staging location").

Every staging directory lives in `<run_root>/.staging/`, on the run root's filesystem
(so the final `os.rename` is atomic) but outside every dataset, log and report tree:
no reader's glob over a dataset (e.g. `data/layer1/3A/zone_alloc/*/*/*.parquet`) can
match a staged or half-written file. A stage is named `<key>.<uuid>`, where `key` is
derived from the target's path under the run root, so the next publication of the same
target removes what an interrupted one left (`stage_for` sweeps before it stages), and
`sweep_run_root` removes every stage of a run root (called under the run-root lock at
the start of a build). Stages of the old layout (`_tmp.<uuid>` beside the target) are
swept too.

Outputs that must appear together but live in different folders (S3's RNG event and
trace files) cannot be published by one rename. Their stage holds a publication journal
(`write_publication_journal`), written once every file is staged complete: a sweep that
finds a journal first finishes the renames it lists (roll forward), so a kill between the
renames leaves, for the next run, both files published rather than one.

A target outside any run root (a run root holds `run_receipt.json`) is staged in
`.staging/` beside the target's parent directory.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from pathlib import Path

from .faults import checkpoint
from .identity import RECEIPT_NAME

STAGING_DIR = ".staging"
LEGACY_PREFIX = "_tmp."
JOURNAL_NAME = "publication.json"


def run_root_of(path: Path) -> Path | None:
    """The nearest ancestor of `path` holding a run receipt."""
    for parent in Path(path).absolute().parents:
        if (parent / RECEIPT_NAME).is_file():
            return parent
    return None


def staging_root(target: Path) -> Path:
    target = Path(target).absolute()
    root = run_root_of(target)
    return (root if root is not None else target.parent.parent) / STAGING_DIR


def _key(target: Path) -> str:
    """A short name for the target: its last path component (readable) and a digest of
    its full path (unique; a full relative path can exceed the 255-byte name limit)."""
    target = Path(target).absolute()
    digest = hashlib.sha256(target.as_posix().encode("utf-8")).hexdigest()[:16]
    readable = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in target.name)[:48]
    return f"{readable}-{digest}"


def sweep_target(target: Path) -> None:
    """Remove the stages an interrupted publication of `target` left behind."""
    target = Path(target).absolute()
    root = staging_root(target)
    if root.is_dir():
        for stale in root.glob(f"{_key(target)}.*"):
            _remove(stale)
    sweep_legacy_stages(target.parent)


def sweep_legacy_stages(directory: Path) -> None:
    """Remove `_tmp.<uuid>` stages the old layout left inside `directory`."""
    if Path(directory).is_dir():
        for stale in Path(directory).glob(f"{LEGACY_PREFIX}*"):
            _remove(stale)


def stage_for(target: Path) -> Path:
    """A fresh, empty staging directory for publishing `target` (stale ones removed)."""
    sweep_target(target)
    root = staging_root(target)
    root.mkdir(parents=True, exist_ok=True)
    stage = root / f"{_key(target)}.{uuid.uuid4().hex}"
    stage.mkdir()
    return stage


def write_synced(path: Path, data: bytes) -> None:
    """Write a staged file and flush it to disk, so a rename can only publish whole bytes."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def rename_into_place(staged: Path, target: Path, replace: bool = False) -> None:
    """The one atomic step that publishes a staged file or directory (with the fault
    injection points around it)."""
    checkpoint("staged", target)
    checkpoint("before_rename", target)
    (os.replace if replace else os.rename)(staged, target)
    checkpoint("after_rename", target)


def sweep_run_root(run_root: Path) -> list[str]:
    """Remove every stage under a run root; returns the names removed."""
    root = Path(run_root) / STAGING_DIR
    removed = []
    if root.is_dir():
        for stale in sorted(root.iterdir()):
            _remove(stale)
            removed.append(stale.name)
    return removed


# Run reports and the append-only logs are rewritten by several dbt threads of one
# process (S1 and S2 report at once); builds in other processes are kept off the run
# root by its lock.
_FILE_LOCK = threading.RLock()


def replace_file_atomically(target: Path, data: bytes) -> None:
    """Overwrite (or create) one file through a stage: readers see the old bytes or the
    new ones, never a part."""
    target = Path(target)
    with _FILE_LOCK:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = stage_for(target)
        try:
            staged = stage / target.name
            write_synced(staged, data)
            rename_into_place(staged, target, replace=True)
        finally:
            shutil.rmtree(stage, ignore_errors=True)


def append_line_atomically(target: Path, line: bytes) -> None:
    """Append one line to an append-only file by replacing it with its old bytes plus
    the line: a kill never leaves half a line (a line cut by an older writer is ended)."""
    target = Path(target)
    with _FILE_LOCK:
        old = target.read_bytes() if target.is_file() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        replace_file_atomically(target, old + line)


def write_publication_journal(stage: Path, moves: list[tuple[Path, Path]]) -> None:
    """Commit a group of staged files to being published, in order: `moves` pairs each
    staged file of `stage` with its target. Call it when every staged file is complete
    (written and synced); from then on a sweep of the stage finishes the renames."""
    stage = Path(stage)
    base = stage.parent.parent  # the run root (staging_root's parent)
    journal = {"moves": [[Path(staged).name, os.path.relpath(Path(target).absolute(), base)]
                         for staged, target in moves]}
    pending = stage / f".{JOURNAL_NAME}.part"
    write_synced(pending, json.dumps(journal, sort_keys=True).encode("utf-8"))
    os.replace(pending, stage / JOURNAL_NAME)


def roll_forward(stage: Path) -> list[Path]:
    """Finish the publication a journal in `stage` commits to: move every staged file
    still there to its target, unless the target exists. Returns the targets moved."""
    journal_file = Path(stage) / JOURNAL_NAME
    if not journal_file.is_file():
        return []
    base = Path(stage).parent.parent
    moved = []
    for name, relative in json.loads(journal_file.read_text(encoding="utf-8"))["moves"]:
        staged, target = Path(stage) / name, base / relative
        if staged.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, target)
            moved.append(target)
    return moved


# Stages prepared ahead of their publication by one model and committed by a later one
# of the same process (target -> (stage, what the preparing model knows of it)).
_PREPARED: dict[str, tuple[Path, object]] = {}


def offer_prepared_stage(target: Path, stage: Path, detail: object = None) -> None:
    """Record that `stage` holds complete, synced files to be published at `target` by
    a later step of this process. Kept in this process's memory only: a stage of
    another process, or one a build's start swept away (`sweep_run_root`), is never
    taken."""
    with _FILE_LOCK:
        _PREPARED[str(Path(target).absolute())] = (Path(stage), detail)


def take_prepared_stage(target: Path, files: tuple[str, ...]) -> tuple[Path, object] | None:
    """The stage offered for `target` (and its detail), removed from the offers, if it
    still holds every one of `files`; else None (the caller stages the files itself)."""
    with _FILE_LOCK:
        offered = _PREPARED.pop(str(Path(target).absolute()), None)
    if offered is None or not all((offered[0] / name).is_file() for name in files):
        return None
    return offered


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        roll_forward(path)
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
