"""Generate one sample upstream world: run identity, receipt and every artefact 3A reads
(05), written into a staging directory and renamed into `<runs_root>/<run_id>/` in one
atomic step.

Steps (each reported through `progress`):
1. resolve the four policies and three reference files under the external root;
2. run identity (parameter_hash, manifest_fingerprint, run_id) over those files, the
   contract tree and the engine commit;
3. synthesise the pair-level catalogue, check its invariants;
4. expand and write `outlet_catalogue` and `site_timezones` part by part;
5. compile `tz_timetable_cache`, write `s4_legality_report`;
6. write the 1A, 1B and 2A validation bundles and flags, then the run receipt;
7. optionally break one bundle (negative fixture), then publish.

Re-generating an existing world is a no-op when every byte matches, and fails with
`E3A_WORLD_IMMUTABLE` (naming the first differing file) when anything differs.
"""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from seg3a.core.catalogue import Catalogue, Tokens, resolve_physical
from seg3a.core.cjson import cj_bytes
from seg3a.core.digests import list_files, sha256_file
from seg3a.core.errors import Seg3aError
from seg3a.core.hashgate import composite_digest
from seg3a.core.identity import (
    CONTRACTS_LAYOUT, PARAMETER_MEMBERS, RECEIPT_NAME, REFERENCE_IDS, RunReceipt,
    compute_identity, contract_files, git_commit_bytes, utc_to_ns,
)
from seg3a.core.paths import contracts_root, project_root
from seg3a.core.schemas import SchemaPacks

from . import bundles, corrupt as corruption, tables, tzcache
from .catalogue import DEFAULT_PAIRS, PairTable, synthesize_pairs
from .countries import CountryTable, load_countries
from .rng import Ledger

DEFAULT_CREATED_UTC = "2026-01-01T00:00:00.000000Z"
PROFILE = "baseline"
MIN_PAIRS = 50
UINT64_MAX = 2 ** 64 - 1
STAGING_DIR = ".staging"

Progress = Callable[[str], None]


class WorldError(Seg3aError):
    """Generation failed (`E3A_WORLD_*`)."""


# -- inputs and identity ---------------------------------------------------------------
def _existing(catalogue: Catalogue, dataset_id: str, external_root: Path) -> Path:
    rel = catalogue.render(dataset_id, {})
    try:
        return resolve_physical(rel, None, [external_root], must_exist=True)
    except FileNotFoundError:
        hint = "run `seg3a reference build`" if rel.startswith("reference/") else "the committed policy file is missing"
        raise WorldError("E3A_WORLD_INPUT_MISSING", f"{dataset_id} not found at {rel} ({hint})",
                         dataset_id=dataset_id) from None


def _portable(path: Path) -> str:
    """A path as recorded in the receipt: relative to the project root when inside it
    (so receipts, and therefore worlds, do not vary by machine), else absolute."""
    path, root = Path(path).resolve(), project_root()
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
    return rel or "."


def _record(path: Path, base: Path) -> bundles.FileRecord:
    return bundles.FileRecord(_portable_under(path, base), sha256_file(path), path.stat().st_size)


def _portable_under(path: Path, base: Path) -> str:
    for root in (base, project_root()):
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return path.name


def _git_hex(raw: bytes) -> str:
    """40 hex digits for a (zero-padded) SHA-1 commit, 64 for a SHA-256 one."""
    return raw[12:].hex() if raw[:12] == bytes(12) else raw.hex()


@functools.lru_cache(maxsize=4)
def _schema_packs(root: Path) -> SchemaPacks:
    return SchemaPacks.load(root)


# -- catalogue checks ------------------------------------------------------------------
def check_pairs(pairs: PairTable) -> None:
    """05 §1 invariants at pair level (row-level ones hold by construction of the
    expansion): counts in range, per-merchant sums, sort and uniqueness, constant home."""
    merchant, legal = pairs.merchant_id, pairs.legal
    problems = []
    if np.any(pairs.n < 1) or np.any(pairs.n > 999_999):
        problems.append("final_country_outlet_count outside 1..999999")
    starts = np.flatnonzero(np.r_[True, merchant[1:] != merchant[:-1]])
    sums = np.add.reduceat(pairs.n.astype(np.int64), starts)
    if np.any(sums != pairs.total[starts]) or np.any(pairs.total < 2):
        problems.append("per-merchant counts do not sum to raw_nb_outlet_draw (or N < 2)")
    ordered = (merchant[1:] > merchant[:-1]) | ((merchant[1:] == merchant[:-1]) & (legal[1:] > legal[:-1]))
    if not np.all(ordered) or np.any(merchant < 1):
        problems.append("pairs not strictly sorted by (merchant_id, legal_country_iso)")
    same = merchant[1:] == merchant[:-1]
    if np.any(same & (pairs.home[1:] != pairs.home[:-1])):
        problems.append("home country not constant per merchant")
    if problems:
        raise WorldError("E3A_WORLD_INVARIANT", "; ".join(problems))


# -- writing ---------------------------------------------------------------------------
class WorldWriter:
    """Writes one world's artefacts under a staging run root."""

    def __init__(self, stage: Path, catalogue: Catalogue, tokens: Tokens, created_utc: str, progress: Progress):
        self.stage, self.catalogue, self.tokens = stage, catalogue, tokens
        self.created_utc, self.progress = created_utc, progress
        self.schemas = _schema_packs(catalogue.root)

    def rel(self, dataset_id: str) -> str:
        return self.catalogue.render(dataset_id, self.tokens)

    def path(self, dataset_id: str) -> Path:
        return resolve_physical(self.rel(dataset_id), self.stage, [])

    def arrow_schema(self, dataset_id: str):
        return self.schemas.arrow_schema(self.catalogue.entry(dataset_id)["schema_ref"])

    def write_rows(self, pairs: PairTable, countries: CountryTable, ledger: Ledger) -> dict:
        """Both row-level datasets, part by part; returns tz usage for the 2A artefacts."""
        outlet_dir, tz_dir = self.path("outlet_catalogue"), self.path("site_timezones")
        outlet_schema, tz_schema = self.arrow_schema("outlet_catalogue"), self.arrow_schema("site_timezones")
        seed, fp = self.tokens.seed, self.tokens.manifest_fingerprint
        usage = np.zeros(len(countries.tz_names), dtype=np.int64)
        overrides = nudges = 0
        ranges = tables.part_ranges(pairs.rows)
        for part, (start, stop) in enumerate(ranges):
            rows = tables.expand_rows(pairs, start, stop)
            tables.write_part(tables.outlet_table(pairs, rows, countries, fp, seed, outlet_schema),
                              outlet_dir / tables.part_name(part))
            with tables.zone_stream(seed, part, ledger) as stream:
                draw = tables.draw_zones(stream, pairs.legal[rows.pair], countries)
            tables.write_part(
                tables.site_timezone_table(pairs, rows, draw, countries, fp, seed, self.created_utc, tz_schema),
                tz_dir / tables.part_name(part))
            usage += np.bincount(countries.zone_tz[draw.zone], minlength=usage.size)
            overrides += int(draw.override.sum())
            nudges += int(draw.nudge.sum())
            if len(ranges) > 1:
                self.progress(f"world: part {part + 1}/{len(ranges)} written ({stop:,} of {pairs.rows:,} rows)")
        used = [countries.tz_names[i] for i in np.flatnonzero(usage)]
        return {"used": used, "overrides": overrides, "nudges": nudges}

    def write_tz_artefacts(self, usage: dict, sites: int) -> tuple[bytes, bytes, dict]:
        """Cache folder (manifest + payload) and the seed's legality report."""
        timetables = {t.tzid: t for t in tzcache.compile_all()}
        payload = tzcache.encode_payload(list(timetables.values()))
        manifest = cj_bytes(tzcache.manifest(self.tokens.manifest_fingerprint, payload, self.created_utc))
        cache_dir = self.path("tz_timetable_cache")
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / "tz_timetable_cache.json").write_bytes(manifest)
        (cache_dir / "tz_cache_v1.bin").write_bytes(payload)
        missing = [z for z in usage["used"] if z not in timetables]
        windows = [tzcache.window_counts(timetables[z]) for z in usage["used"] if z in timetables]
        report = {
            "manifest_fingerprint": self.tokens.manifest_fingerprint,
            "seed": self.tokens.seed,
            "generated_utc": self.created_utc,
            "status": "FAIL" if missing else "PASS",
            "counts": {
                "sites_total": sites,
                "tzids_total": len(usage["used"]),
                "gap_windows_total": sum(g for g, _ in windows),
                "fold_windows_total": sum(f for _, f in windows),
            },
        }
        if missing:
            report["missing_tzids"] = missing
        report_bytes = cj_bytes(report)
        report_path = self.path("s4_legality_report")
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_bytes(report_bytes)
        metrics = {
            "sites_total": sites,
            "tzids_in_use": len(usage["used"]),
            "tzids_in_cache": len(timetables),
            "override_sites": usage["overrides"],
            "nudged_sites": usage["nudges"],
            "tz_cache_source": tzcache.source_description(),
            "tz_cache_horizon_year": tzcache.HORIZON_YEAR,
            "gap_windows_total": report["counts"]["gap_windows_total"],
            "fold_windows_total": report["counts"]["fold_windows_total"],
        }
        return manifest, report_bytes, metrics

    def outlet_files(self) -> list[bundles.FileRecord]:
        root = self.path("outlet_catalogue")
        return [bundles.FileRecord(p, sha256_file(root / p), (root / p).stat().st_size) for p in list_files(root)]


def _check_tz_release() -> None:
    """The cache tag must equal the release of the sealed tz boundary data (05 §3)."""
    from seg3a.reference.sources import tz_boundary_release

    boundary, cache = tz_boundary_release(), tzcache.release_tag()
    if boundary != cache:
        raise WorldError("E3A_WORLD_TZ_RELEASE", f"tzdata release {cache} differs from the boundary data's {boundary}")


def _build(stage: Path, *, catalogue: Catalogue, seed: int, pairs_target: int, external_root: Path,
           created_utc: str, identity, inputs: dict[str, Path], references: list[Path], runs_root: Path,
           fixture: corruption.Corruption | None, progress: Progress) -> None:
    tokens = Tokens(seed, identity.parameter_hash, identity.manifest_fingerprint, identity.run_id)
    writer = WorldWriter(stage, catalogue, tokens, created_utc, progress)
    ledger = Ledger()

    countries = load_countries(external_root, catalogue)
    progress(f"world: {countries.size} eligible countries ({countries.sources['iso3166']})")
    pairs = synthesize_pairs(seed, pairs_target, countries, ledger)
    check_pairs(pairs)
    progress(f"world: {pairs.merchants:,} merchants, {pairs.n.size:,} pairs, {pairs.rows:,} outlets")

    usage = writer.write_rows(pairs, countries, ledger)
    progress(f"world: outlet_catalogue and site_timezones written ({len(usage['used'])} tzids in use)")
    _check_tz_release()
    cache_manifest, report, metrics = writer.write_tz_artefacts(usage, pairs.rows)
    progress("world: tz_timetable_cache and s4_legality_report written")

    outlet_files = writer.outlet_files()
    rows_by_country = np.bincount(pairs.legal, weights=pairs.n, minlength=countries.size).astype(np.int64)
    opened = list(inputs.values()) + references + contract_files(contracts_root())
    facts = bundles.WorldFacts(
        seed=seed, parameter_hash=tokens.parameter_hash, manifest_fingerprint=tokens.manifest_fingerprint,
        run_id=tokens.run_id, created_utc=created_utc, created_utc_ns=utc_to_ns(created_utc),
        git_commit_hex=_git_hex(git_commit_bytes(project_root())), profile=PROFILE,
        paths={i: writer.rel(i) for i in ("outlet_catalogue", "validation_bundle_1B")},
        outlet_files=outlet_files,
        outlet_composite=composite_digest(writer.path("outlet_catalogue"), [f.path for f in outlet_files]),
        merchants_total=pairs.merchants, rows_total=pairs.rows, pairs_total=int(pairs.n.size),
        rows_by_country={countries.codes[i]: int(r) for i, r in enumerate(rows_by_country) if r},
        ledger=ledger, opened_artefacts=[_record(p, external_root) for p in opened],
        parameter_names=sorted(inputs), sources=countries.sources,
        tz_source=tzcache.source_description(), tz_metrics=metrics,
    )
    for segment, write in (("1A", bundles.write_bundle_1a), ("1B", bundles.write_bundle_1b)):
        write(writer.path(f"validation_bundle_{segment}"), facts)
    bundles.write_bundle_2a(writer.path("validation_bundle_2A"), facts, cache_manifest, report)
    progress("world: validation bundles 1A, 1B, 2A sealed")

    # Paths in the receipt are relative to the project root where possible, so that the
    # receipt (and hence the whole run root) is identical on every machine (01 §1.6).
    receipt = RunReceipt(
        run_id=identity.run_id, seed=seed, parameter_hash=identity.parameter_hash,
        manifest_fingerprint=identity.manifest_fingerprint, created_utc=created_utc,
        contracts_layout=CONTRACTS_LAYOUT, contracts_root=_portable(contracts_root()),
        runs_root=_portable(runs_root), external_roots=(_portable(external_root),), path=stage / RECEIPT_NAME,
    )
    (stage / RECEIPT_NAME).write_bytes(cj_bytes(receipt.as_json()))
    if fixture is not None:
        corruption.apply(fixture, writer.path(f"validation_bundle_{fixture.segment}"))
        progress(f"world: negative fixture applied ({fixture.label})")


# -- publishing ------------------------------------------------------------------------
def first_difference(left: Path, right: Path) -> str | None:
    """Relative path of the first file that differs between two trees (None if equal)."""
    a, b = list_files(left), list_files(right)
    for rel in sorted(set(a) ^ set(b), key=lambda p: p.encode("utf-8")):
        return rel
    for rel in a:
        if (left / rel).stat().st_size != (right / rel).stat().st_size or sha256_file(left / rel) != sha256_file(right / rel):
            return rel
    return None


def publish(stage: Path, target: Path) -> bool:
    """Rename the staged run root onto `target`; True if published, False if an
    identical world was already there."""
    if not target.exists():
        try:
            os.rename(stage, target)
            return True
        except OSError:
            if not target.exists():
                raise
    differing = first_difference(stage, target)
    if differing is not None:
        raise WorldError("E3A_WORLD_IMMUTABLE",
                         f"run root {target.name} already exists with different content (first difference: {differing})",
                         file=differing, run_id=target.name)
    return False


def _check_arguments(seed: int, pairs: int, created_utc: str) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= UINT64_MAX:
        raise WorldError("E3A_WORLD_ARGUMENT", f"seed must be a uint64, got {seed!r}")
    if pairs < MIN_PAIRS:
        raise WorldError("E3A_WORLD_ARGUMENT", f"pairs must be at least {MIN_PAIRS}, got {pairs}")
    try:
        utc_to_ns(created_utc)
    except ValueError as exc:
        raise WorldError("E3A_WORLD_ARGUMENT", str(exc)) from None


def generate_world(
    seed: int,
    pairs: int | None,
    runs_root: Path,
    external_root: Path,
    created_utc: str = DEFAULT_CREATED_UTC,
    corrupt: str | None = None,
    progress: Progress = print,
) -> Path:
    """Generate (or confirm) the world for `seed`; returns its run root."""
    pairs_target = DEFAULT_PAIRS if pairs is None else int(pairs)
    _check_arguments(seed, pairs_target, created_utc)
    try:
        fixture = corruption.parse(corrupt)
    except corruption.CorruptionError as exc:
        raise WorldError("E3A_WORLD_ARGUMENT", str(exc)) from None
    runs_root, external_root = Path(runs_root).resolve(), Path(external_root).resolve()
    catalogue = Catalogue(contracts_root())
    inputs = {name: _existing(catalogue, dataset_id, external_root) for name, dataset_id in PARAMETER_MEMBERS.items()}
    references = [_existing(catalogue, dataset_id, external_root) for dataset_id in REFERENCE_IDS]
    identity = compute_identity(
        seed=seed, created_utc=created_utc, policy_paths=inputs, reference_paths=references,
        contracts=contracts_root(), project_root=project_root(), runs_root=runs_root,
    )
    progress(f"world: seed={seed} pairs={pairs_target} run_id={identity.run_id} "
             f"manifest_fingerprint={identity.manifest_fingerprint[:12]}…")
    staging_parent = runs_root / STAGING_DIR
    staging_parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f"{identity.run_id}.", dir=staging_parent))
    stage.chmod(0o755)  # mkdtemp creates 0700; the published run root is an ordinary directory
    try:
        _build(stage, catalogue=catalogue, seed=seed, pairs_target=pairs_target, external_root=external_root, created_utc=created_utc,
               identity=identity, inputs=inputs, references=references, runs_root=runs_root,
               fixture=fixture, progress=progress)
        target = runs_root / identity.run_id
        published = publish(stage, target)
        progress(f"world: {'published' if published else 'already present, identical'}: {target}")
        return target
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        _remove_if_empty(staging_parent)


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
