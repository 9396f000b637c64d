"""Helpers for tests that need a generated world: one world per (seed, pairs, fixture)
per test session, shared between test modules, plus readers that locate a world's
artefacts through its receipt and the dataset dictionary."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seg3a.core.catalogue import Catalogue, Tokens, resolve_physical
from seg3a.core.identity import REFERENCE_IDS, RunReceipt, parse_receipt
from seg3a.core.paths import default_external_root

from .generate import generate_world

_WORLDS: dict[tuple, Path] = {}


def ensure_reference(external_root: Path) -> None:
    """Build the reference data under `external_root` if any file is missing."""
    catalogue = Catalogue()
    rels = [catalogue.render(i, {}) for i in REFERENCE_IDS]
    if all(resolve_physical(r, None, [external_root]).is_file() for r in rels):
        return
    from seg3a.reference.build import build_all

    build_all(external_root, progress=lambda _line: None)


def shared_world(base: Path, seed: int = 42, pairs: int | None = None, corrupt: str | None = None) -> Path:
    """Run root of the world for these arguments, generated once per session under `base`."""
    key = (seed, pairs, corrupt)
    if key not in _WORLDS:
        external_root = default_external_root()
        ensure_reference(external_root)
        runs_root = Path(base) / f"runs-seed{seed}-pairs{pairs or 'default'}-{corrupt or 'good'}".replace(":", "_")
        _WORLDS[key] = generate_world(seed, pairs, runs_root, external_root, corrupt=corrupt,
                                      progress=lambda _line: None)
    return _WORLDS[key]


@dataclass(frozen=True)
class WorldView:
    """A generated world seen through its receipt and the dictionary."""

    run_root: Path
    receipt: RunReceipt
    catalogue: Catalogue

    @classmethod
    def open(cls, run_root: Path) -> "WorldView":
        return cls(Path(run_root), parse_receipt(Path(run_root) / "run_receipt.json"), Catalogue())

    @property
    def tokens(self) -> Tokens:
        r = self.receipt
        return Tokens(r.seed, r.parameter_hash, r.manifest_fingerprint, r.run_id)

    def rel(self, dataset_id: str) -> str:
        return self.catalogue.render(dataset_id, self.tokens)

    def path(self, dataset_id: str) -> Path:
        return resolve_physical(self.rel(dataset_id), self.run_root, [default_external_root()])
