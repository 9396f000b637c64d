"""Write-once publishing (spec 01 §4.8, §5.4): stage under the run root's `.staging/`
(core.staging: outside every dataset tree), then rename atomically. An identical existing
output is a no-op; a different one is an immutability violation and is never overwritten."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .staging import rename_into_place, stage_for, sweep_target, write_synced


class ImmutabilityViolation(Exception):
    """An existing output differs from what would be published."""

    def __init__(self, target: Path, difference_kind: str = "content", difference_count: int | None = None) -> None:
        super().__init__(f"existing output differs ({difference_kind}): {target}")
        self.target = target
        self.difference_kind = difference_kind
        self.difference_count = difference_count


class PublishIOError(OSError):
    """Staging or renaming failed."""

    def __init__(self, target: Path, operation: str, cause: Exception) -> None:
        super().__init__(f"{operation} failed for {target}: {cause}")
        self.target = target
        self.operation = operation


@dataclass(frozen=True)
class PublishResult:
    target: Path
    created: bool  # False: an identical output already existed


def _staging_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return stage_for(target)


def publish_bytes(target: Path, data: bytes) -> PublishResult:
    """Publish one file with the write-once rule (byte comparison)."""
    target = Path(target)
    if target.exists():
        sweep_target(target)  # a kill right after the rename leaves its emptied stage
        if target.read_bytes() == data:
            return PublishResult(target, False)
        raise ImmutabilityViolation(target, "content")
    try:
        stage = _staging_dir(target)
    except OSError as exc:
        raise PublishIOError(target, "write", exc) from exc
    try:
        staged = stage / target.name
        write_synced(staged, data)
        rename_into_place(staged, target)
    except OSError as exc:
        raise PublishIOError(target, "write", exc) from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return PublishResult(target, True)


def publish_directory(
    target: Path,
    fill: Callable[[Path], None],
    same_content: Callable[[Path, Path], bool],
) -> PublishResult:
    """Publish a partition directory: `fill(stage)` writes the files; if `target` exists,
    `same_content(existing, stage)` decides between a no-op and an immutability error
    (which it may raise itself with a more precise difference kind)."""
    target = Path(target)
    stage = _staging_dir(target)
    try:
        fill(stage)
        if target.exists():
            if same_content(target, stage):
                return PublishResult(target, False)
            raise ImmutabilityViolation(target, "row_set")
        try:
            rename_into_place(stage, target)
        except OSError as exc:
            raise PublishIOError(target, "write", exc) from exc
        return PublishResult(target, True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
