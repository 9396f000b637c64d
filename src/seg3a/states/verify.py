"""`seg3a verify`: what a downstream segment runs before it reads any 3A output of a
manifest (spec 04 §3.4, "no PASS → no read").

0. the bundle folder holds exactly `index.json` and `_passed.flag` (04 §3.2), and no
   symlink stands anywhere on the way to a member or inside it (a link could point the
   check at bytes the run never wrote);
1. `index.json` parses and validates against `validation_bundle_index_3A`, and lists
   exactly the 14 members of the 3A bundle in canonical order with their roles;
2. `_passed.flag` is exactly one `sha256_hex = <64 lower hex>` line;
3. every member's digest is recomputed from the files by its rule and compared with
   the index (the first difference is named);
4. H_hexcat of the member digests in index order equals the flag;
5. every `zone_alloc` row carries the routing_universe_hash of
   `zone_alloc_universe_hash`, which is H_hexcat of its five components.

Exit status 0 with one PASS line, 1 with a FAIL line naming the first failing check,
2 for a usage problem.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from ..cli import add_run_arguments
from ..core.catalogue import Catalogue
from ..core.context import RunContext
from ..core.digests import sha256_hexcat
from ..core.hashgate import HashGateError, read_flag
from ..core.identity import RECEIPT_NAME, parse_receipt
from ..core.paths import contracts_root
from ..core.schemas import SchemaPacks
from .s5_digests import COMPONENT_ORDER
from .s7_members import (
    BUNDLE_ID, FLAG_NAME, INDEX_ANCHOR, INDEX_NAME, MEMBER_BY_ID, MEMBERS, MemberUnreadable, bundle_digest,
    member_digest, physical,
)


class VerifyFailure(Exception):
    """The bundle fails verification; the message names the first failing check."""


@dataclass(frozen=True)
class Verified:
    manifest_fingerprint: str
    bundle_sha256_hex: str
    member_count: int
    routing_universe_hash: str

    def line(self) -> str:
        return (f"PASS 3A bundle manifest_fingerprint={self.manifest_fingerprint} "
                f"bundle_sha256_hex={self.bundle_sha256_hex} members={self.member_count} "
                f"routing_universe_hash={self.routing_universe_hash}")


# --------------------------------------------------------------------------- locating the bundle
@dataclass(frozen=True)
class Located:
    bundle: Path
    run_root: Path
    packs: SchemaPacks
    member_paths: dict[str, str] | None  # the dictionary's rendering, when the run is known


def bundle_of_run(runs_root: Path | None, run_id: str | None) -> Located:
    """The bundle of a run selected like the dbt build does."""
    ctx = RunContext.resolve(runs_root, run_id)
    bundle = physical(ctx.run_root, ctx.catalogue_path(BUNDLE_ID))
    return Located(bundle, ctx.run_root, SchemaPacks.load(ctx.catalogue.root), member_paths(ctx))


def member_paths(ctx: RunContext) -> dict[str, str]:
    return {m.logical_id: ctx.catalogue_path(m.logical_id) for m in MEMBERS}


def run_root_of_bundle(bundle: Path) -> Path:
    """The run root above a bundle directory: the bundle's catalogue path has as many
    components as the dictionary template."""
    depth = len(Catalogue().template(BUNDLE_ID).rstrip("/").split("/"))
    bundle = Path(bundle).resolve()
    if len(bundle.parents) < depth:
        raise VerifyFailure(f"bundle directory {bundle} is not inside a run root")
    return bundle.parents[depth - 1]


def bundle_at(bundle: Path) -> Located:
    """A bundle directory; its run's contracts and member paths when the run receipt
    above it is readable, else the project's contracts and no path expectation."""
    run_root = run_root_of_bundle(bundle)
    receipt = run_root / RECEIPT_NAME
    if receipt.is_file():
        try:
            ctx = RunContext.from_receipt(parse_receipt(receipt))
            return Located(Path(bundle).resolve(), run_root, SchemaPacks.load(ctx.catalogue.root), member_paths(ctx))
        except Exception:  # an unusable receipt does not stop a bundle check
            pass
    return Located(Path(bundle).resolve(), run_root, SchemaPacks.load(contracts_root()), None)


# --------------------------------------------------------------------------- the checks
BUNDLE_FOLDER = frozenset({INDEX_NAME, FLAG_NAME})


def refuse_symlink(path: Path, what: str) -> None:
    if path.is_symlink():
        raise VerifyFailure(f"{what} is a symlink ({path} -> {os.readlink(path)}); symlinks are refused")


def check_bundle_folder(bundle: Path) -> None:
    """Exactly `index.json` and `_passed.flag`, both regular files, nothing else."""
    if not bundle.is_dir():
        raise VerifyFailure(f"bundle directory not found: {bundle}")
    refuse_symlink(bundle, "bundle directory")
    entries = {entry.name for entry in bundle.iterdir()}
    for name in sorted(entries & BUNDLE_FOLDER):
        refuse_symlink(bundle / name, name)
    extra = sorted(entries - BUNDLE_FOLDER)
    if extra:
        raise VerifyFailure(f"bundle folder holds entries other than {INDEX_NAME} and {FLAG_NAME}: {extra}")


def check_no_symlinks(run_root: Path, index: dict) -> None:
    """No member path component below the run root, and no file inside a member
    directory, is a symlink."""
    for row in index["members"]:
        location = physical(run_root, row["path"])
        for step in [*reversed(location.relative_to(run_root).parents[:-1]), location.relative_to(run_root)]:
            candidate = run_root / step
            if "*" in candidate.name:
                candidate = candidate.parent
            refuse_symlink(candidate, f"member {row['logical_id']} path {step.as_posix()}")
        if location.is_dir():
            for inner in sorted(location.rglob("*")):
                refuse_symlink(inner, f"member {row['logical_id']} file {inner.relative_to(run_root).as_posix()}")
        elif "*" in location.name and location.parent.is_dir():
            for inner in sorted(location.parent.glob(location.name)):
                refuse_symlink(inner, f"member {row['logical_id']} file {inner.relative_to(run_root).as_posix()}")


def load_index(bundle: Path, packs: SchemaPacks) -> dict:
    path = bundle / INDEX_NAME
    if not bundle.is_dir():
        raise VerifyFailure(f"bundle directory not found: {bundle}")
    try:
        index = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise VerifyFailure(f"{INDEX_NAME} missing in {bundle}") from None
    except ValueError as exc:
        raise VerifyFailure(f"{INDEX_NAME} is not JSON: {exc}") from None
    violations = packs.validate_json(INDEX_ANCHOR, index)
    if violations:
        raise VerifyFailure(f"{INDEX_NAME} fails {INDEX_ANCHOR}: {violations[0]}")
    listed = [(m["logical_id"], m["role"]) for m in index["members"]]
    expected = [(m.logical_id, m.role) for m in MEMBERS]
    if listed != expected:
        raise VerifyFailure(f"{INDEX_NAME} members differ from the 3A member list: {[i for i, _ in listed]}")
    token = f"manifest_fingerprint={index['manifest_fingerprint']}"
    if bundle.name.startswith("manifest_fingerprint=") and bundle.name != token:
        raise VerifyFailure(f"{INDEX_NAME} names manifest {index['manifest_fingerprint']} but sits in {bundle.name}")
    return index


def load_flag(bundle: Path) -> str:
    try:
        return read_flag("3A", bundle / FLAG_NAME)
    except HashGateError as exc:
        raise VerifyFailure(f"{FLAG_NAME} invalid: {exc.reason}: {exc.detail}") from None


def check_member_paths(index: dict, expected: dict[str, str] | None) -> None:
    """Members stay inside the run root, at the dictionary's path when it is known."""
    for row in index["members"]:
        logical_id, path = row["logical_id"], row["path"]
        if ".." in path.split("/"):
            raise VerifyFailure(f"member {logical_id} path {path} leaves the run root")
        if expected is not None and path != expected[logical_id]:
            raise VerifyFailure(f"member {logical_id} path {path} is not the dictionary path {expected[logical_id]}")


def check_members(run_root: Path, index: dict) -> None:
    """Recompute every member digest by its rule; the first difference fails."""
    for row in index["members"]:
        member = MEMBER_BY_ID[row["logical_id"]]
        try:
            observed = member_digest(member, physical(run_root, row["path"])).sha256_hex
        except MemberUnreadable as exc:
            raise VerifyFailure(f"member {member.logical_id} {exc.reason}: {exc.detail} ({row['path']})") from None
        except OSError as exc:
            raise VerifyFailure(f"member {member.logical_id} unreadable: {exc}") from None
        if observed != row["sha256_hex"]:
            raise VerifyFailure(f"member {member.logical_id} digest mismatch: expected {row['sha256_hex']} "
                                f"got {observed}")


def check_flag(index: dict, flagged: str) -> str:
    composite = bundle_digest([m["sha256_hex"] for m in index["members"]])
    if composite != flagged:
        raise VerifyFailure(f"{FLAG_NAME} mismatch: expected {flagged} got {composite}")
    return composite


def check_routing_hash(run_root: Path, index: dict) -> str:
    """zone_alloc rows carry the universe artefact's hash, which binds its components."""
    paths = {m["logical_id"]: m["path"] for m in index["members"]}
    universe = json.loads(physical(run_root, paths["zone_alloc_universe_hash"]).read_bytes())
    expected = universe["routing_universe_hash"]
    combined = sha256_hexcat(*(universe[name] for name in COMPONENT_ORDER))
    if combined != expected:
        raise VerifyFailure(f"zone_alloc_universe_hash routing_universe_hash {expected} is not H_hexcat of its "
                            f"components ({combined})")
    location = physical(run_root, paths["zone_alloc"])
    files = sorted(location.rglob("*.parquet")) if location.is_dir() else [location]
    observed = set()
    for path in files:
        observed |= set(pq.read_table(path, columns=["routing_universe_hash"]).column(0).unique().to_pylist())
    if observed - {expected}:
        raise VerifyFailure(f"zone_alloc routing_universe_hash {sorted(observed - {expected})[0]} differs from "
                            f"zone_alloc_universe_hash {expected}")
    return expected


def verify_bundle(located: Located) -> Verified:
    """All checks in order; raises VerifyFailure on the first failure."""
    check_bundle_folder(located.bundle)
    index = load_index(located.bundle, located.packs)
    flagged = load_flag(located.bundle)
    check_member_paths(index, located.member_paths)
    check_no_symlinks(located.run_root, index)
    check_members(located.run_root, index)
    composite = check_flag(index, flagged)
    routing = check_routing_hash(located.run_root, index)
    return Verified(index["manifest_fingerprint"], composite, len(index["members"]), routing)


# --------------------------------------------------------------------------- command line
def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="seg3a verify",
        description="Re-check a 3A validation bundle the way a downstream segment must before reading any "
                    "3A output: index and flag, every member digest recomputed by its rule, the composite "
                    "digest against the flag, and zone_alloc's routing universe hash.",
    )
    add_run_arguments(cli, "check")
    cli.add_argument("--bundle", type=Path, help="a bundle directory (…/validation/manifest_fingerprint=<F>/)")
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.bundle and (args.runs_root or args.run_id):
        print("seg3a verify: give --bundle or --runs-root/--run-id, not both", file=sys.stderr)
        return 2
    try:
        located = bundle_at(args.bundle) if args.bundle else bundle_of_run(args.runs_root, args.run_id)
        result = verify_bundle(located)
    except VerifyFailure as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a run that cannot be located or read is a failed check, not a crash
        print(f"FAIL {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
