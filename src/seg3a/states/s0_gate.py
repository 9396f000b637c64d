"""3A.S0 — gate and sealed inputs (spec 01 §3, §4).

Re-verifies the 1A/1B/2A HashGates, checks the catalogue, validates and digests the four
governed policies, inventories every artefact later states may read, and publishes
`sealed_inputs_3A` then `s0_gate_receipt_3A` (canonical JSON, write-once). RNG-free and
wall-clock-free for every output field; exactly one segment_state_runs row per call."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..cli import add_run_arguments
from ..core.catalogue import CatalogueError
from ..core.cjson import cj_bytes
from ..core.context import RunContext
from ..core.digests import FileChangedError, sha256_artefact
from ..core.errors import Seg3aError
from ..core.hashgate import HashGateError, verify_bundle
from ..core.identity import RFC3339_MICROS, HEX64, ReceiptError
from ..core.locks import LockHeld, hold_build_locks
from ..core.publish import ImmutabilityViolation, PublishIOError, publish_bytes
from ..core.reports import StateClock, append_segment_state_run, identity_fields
from ..core.schemas import PackLoadError, SchemaPacks
from ..core import yaml_io
from .s0_upstream import UpstreamInputs, UpstreamRefusal, check_upstream

STATE = "S0"
SCHEMA_PACKS = (
    "schemas.layer1.yaml", "schemas.ingress.layer1.yaml", "schemas.1A.yaml", "schemas.1B.yaml",
    "schemas.2A.yaml", "schemas.2B.yaml", "schemas.3A.yaml",
)
CROSS_LAYER_IDS = (
    "validation_bundle_1A", "validation_passed_flag_1A", "validation_bundle_1B", "validation_passed_flag_1B",
    "validation_bundle_2A", "validation_passed_flag_2A", "outlet_catalogue", "site_timezones",
    "tz_timetable_cache", "s4_legality_report", "iso3166_canonical_2024", "world_countries",
    "tz_world_2025a", "day_effect_policy_v1",
)
GATED_SEGMENTS = ("1A", "1B", "2A")
POLICY_IDS = ("zone_mixture_policy", "country_zone_alphas", "zone_floor_policy", "day_effect_policy_v1")
REQUIRED_INPUTS = ("outlet_catalogue", "iso3166_canonical_2024", "world_countries", "tz_world_2025a")
OPTIONAL_INPUTS = ("site_timezones", "tz_timetable_cache", "s4_legality_report")
VERSION_KEYS = ("version", "policy_version", "prior_pack_version", "version_tag")
PLACEHOLDER_WORDS = {"TBD", "null", "unknown"}
RECEIPT_ID, INVENTORY_ID = "s0_gate_receipt_3A", "sealed_inputs_3A"
EGRESS_CHECKSUMS = "egress_checksums.json"

CODES = {
    "001": "E3A_S0_001_UPSTREAM_GATE_FAILED",
    "002": "E3A_S0_002_CATALOGUE_MALFORMED",
    "003": "E3A_S0_003_POLICY_SET_INCOMPLETE",
    "004": "E3A_S0_004_POLICY_SCHEMA_INVALID",
    "005": "E3A_S0_005_SEALED_INPUT_RESOLUTION_FAILED",
    "006": "E3A_S0_006_SEALED_INPUT_DIGEST_MISMATCH",
    "007": "E3A_S0_007_OUTPUT_SCHEMA_INVALID",
    "008": "E3A_S0_008_OUTPUT_SELF_INCONSISTENT",
    "009": "E3A_S0_009_IMMUTABILITY_VIOLATION",
    "010": "E3A_S0_010_INFRASTRUCTURE_IO_ERROR",
}
ERROR_CLASS = {
    "001": "UPSTREAM_GATE", "002": "CATALOGUE", "003": "POLICY", "004": "POLICY", "005": "SEALED_INPUT",
    "006": "SEALED_INPUT", "007": "OUTPUT", "008": "OUTPUT", "009": "IMMUTABILITY", "010": "INFRASTRUCTURE",
}


class S0Failure(Seg3aError):
    """An S0 failure: code, failure phase and structured context."""

    def __init__(self, number: str, phase: str, message: str, **context: Any) -> None:
        super().__init__(CODES[number], message, **context)
        self.number = number
        self.phase = phase


@dataclass
class S0Outcome:
    receipt: dict
    rows: list[dict]
    gate_status: dict[str, str]
    published: dict[str, bool] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers
def is_placeholder(value: Any) -> bool:
    """01 §4.4 placeholder rule."""
    if value is None:
        return True
    text = str(value).strip()
    return text == "" or text in PLACEHOLDER_WORDS or "{" in text or "}" in text


def norm_version(value: str) -> str:
    text = str(value).strip()
    return text[1:] if len(text) > 1 and text[0] in "vV" else text


def policy_version(doc: dict) -> Any:
    for key in VERSION_KEYS:
        if doc.get(key) is not None:
            return doc[key]
    return None


def _non_empty(path: Path) -> bool:
    """A file, or a directory holding at least one file."""
    return path.exists() and not (path.is_dir() and not any(p.is_file() for p in path.rglob("*")))


def _same_path(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


# --------------------------------------------------------------------------- the gate
class S0Gate:
    """One S0 invocation over one run context."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.cat = ctx.catalogue
        self.fp = ctx.tokens.manifest_fingerprint
        self.gate_status = {seg: "NOT_CHECKED" for seg in GATED_SEGMENTS}
        self.packs: SchemaPacks | None = None
        self.rows: list[dict] = []
        self.policy_set: list[dict] = []
        self.upstream_gates: dict[str, dict] = {}

    # step 2 (V-01)
    def load_catalogue(self) -> None:
        try:
            self.packs = SchemaPacks.load(self.cat.root / "schemas")
        except PackLoadError as exc:
            raise S0Failure("002", "CATALOGUE", f"schema packs unusable: {exc}",
                            catalogue_id=exc.pack or "schema_packs") from exc
        for pack in SCHEMA_PACKS:
            if pack not in self.packs.names:
                raise S0Failure("002", "CATALOGUE", f"schema pack {pack} missing", catalogue_id=pack)

    # step 3 (V-02)
    def check_cross_layer(self) -> None:
        for dataset_id in CROSS_LAYER_IDS:
            if not self.cat.has_entry(dataset_id):
                raise S0Failure("002", "CATALOGUE", f"{dataset_id} missing from the 3A dictionary",
                                catalogue_id="dictionary_3A", dataset_id=dataset_id)
            mine = self.cat.entry(dataset_id)
            hit = self.cat.upstream_entry(dataset_id)
            if hit is not None:
                seg, theirs = hit
                for key in ("path", "schema_ref"):
                    if theirs[key] != mine[key]:
                        raise S0Failure("002", "CATALOGUE",
                                        f"{dataset_id}: {key} differs between dictionary_{seg} and dictionary_3A",
                                        catalogue_id=f"dictionary_{seg}", dataset_id=dataset_id)
        for dataset_id in (*CROSS_LAYER_IDS, *POLICY_IDS):
            reg = self.cat.registry_entry(dataset_id)
            if reg is None or not self.cat.has_entry(dataset_id):
                continue
            entry = self.cat.entry(dataset_id)
            if reg.get("path") != entry["path"] or reg.get("schema") != entry["schema_ref"]:
                raise S0Failure("002", "CATALOGUE", f"{dataset_id}: registry path/schema differ from the dictionary",
                                catalogue_id="registry_3A", dataset_id=dataset_id)

    # step 4 (V-03)
    def verify_gates(self) -> None:
        for seg in GATED_SEGMENTS:
            bundle_id, flag_id = f"validation_bundle_{seg}", f"validation_passed_flag_{seg}"
            bundle_root, flag_path = self.ctx.path(bundle_id), self.ctx.path(flag_id)
            try:
                digest = verify_bundle(seg, bundle_root, flag_path)
            except HashGateError as exc:
                self.gate_status[seg] = "FAIL"
                raise S0Failure("001", "UPSTREAM_GATES", f"HashGate {seg} failed: {exc}",
                                upstream_segment=seg, reason=getattr(exc, "reason", str(exc))) from exc
            except OSError as exc:
                self.gate_status[seg] = "FAIL"
                raise S0Failure("001", "UPSTREAM_GATES", f"HashGate {seg} unreadable: {exc}", upstream_segment=seg) from exc
            self.gate_status[seg] = "PASS"
            self.upstream_gates[f"segment_{seg}"] = {
                "bundle_id": bundle_id,
                "bundle_path": self.ctx.catalogue_path(bundle_id),
                "flag_path": self.ctx.catalogue_path(flag_id),
                "sha256_hex": digest,
                "status": "PASS",
            }

    # after step 9, before anything is published: the upstream bytes and rows S0 sealed
    # are the ones the upstream bundles attest, and they conform (spec README, 05 §1-§5)
    def check_upstream(self) -> None:
        def present(dataset_id: str) -> Path | None:
            path = self.ctx.path(dataset_id)
            return path if _non_empty(path) else None

        outlets = self.ctx.path("outlet_catalogue")
        if not _non_empty(outlets):
            return  # the missing required input is E3A_S0_005 of step 6
        inputs = UpstreamInputs(
            outlet_catalogue=outlets,
            iso3166=self.ctx.path("iso3166_canonical_2024"),
            egress_checksums=self.ctx.path("validation_bundle_1A") / EGRESS_CHECKSUMS,
            bundle_2a=self.ctx.path("validation_bundle_2A"),
            site_timezones=present("site_timezones"),
            tz_timetable_cache=present("tz_timetable_cache"),
            s4_legality_report=present("s4_legality_report"),
        )
        try:
            composite = check_upstream(inputs, self.packs, lambda d: self.cat.entry(d)["schema_ref"],
                                       self.ctx.tokens.seed, self.fp)
            sealed = next(r["sha256_hex"] for r in self.rows if r["logical_id"] == "outlet_catalogue")
            if sealed != composite:  # the bytes changed between sealing and attestation
                raise UpstreamRefusal("outlet_catalogue", "egress_unattested", "composite",
                                      "the partition changed while S0 read it",
                                      example_keys=[{"sealed": sealed, "attested": composite}])
        except UpstreamRefusal as refusal:
            self.gate_status[refusal.upstream_segment] = "FAIL"
            raise S0Failure("001", "UPSTREAM_GATES", f"upstream {refusal.upstream_segment} {refusal.reason}: {refusal}",
                            **refusal.context()) from None

    # step 5 (V-04/05/06)
    def seal_policies(self) -> None:
        for policy_id in POLICY_IDS:
            self.seal_policy(policy_id)

    def seal_policy(self, policy_id: str) -> None:
        reg = self.cat.registry_entry(policy_id)
        if not self.cat.has_entry(policy_id) or reg is None:
            raise S0Failure("003", "POLICY_SEAL", f"policy {policy_id} missing from dictionary or registry",
                            missing_roles=[policy_id], conflicting_ids=[])
        entry = self.cat.entry(policy_id)
        self.check_schema_ref(policy_id, entry["schema_ref"])
        path = self.ctx.path(policy_id)
        if not path.is_file():
            raise S0Failure("003", "POLICY_SEAL", f"policy {policy_id} not found at {self.ctx.catalogue_path(policy_id)}",
                            missing_roles=[policy_id], conflicting_ids=[])
        doc = self.parse_policy(policy_id, path, entry["schema_ref"])
        raw_version = self.check_version(policy_id, doc, reg)
        violations = self.packs.validate_json(entry["schema_ref"], doc)
        if violations:
            raise S0Failure("004", "POLICY_SEAL", f"policy {policy_id} fails {entry['schema_ref']}: {violations[0]}",
                            logical_id=policy_id, schema_ref=entry["schema_ref"], violation_count=len(violations))
        digest = self.digest(policy_id, path)
        row = self.inventory_row(policy_id, entry, reg, digest, kind_default="policy")
        self.rows.append(row)
        self.policy_set.append({
            "logical_id": policy_id, "owner_segment": row["owner_segment"], "role": row["role"],
            "sha256_hex": digest, "schema_ref": entry["schema_ref"], "path": row["path"],
            "notes": f"version={raw_version}",
        })

    def parse_policy(self, policy_id: str, path: Path, schema_ref: str) -> dict:
        """The policy read by the strict loader every later state uses (duplicate keys at any
        depth, bytes that are not UTF-8 and a non-mapping root refused), so no state runs on
        a policy a later one would reject."""
        try:
            return yaml_io.load_policy_file(path)
        except (yaml.YAMLError, ValueError) as exc:
            raise S0Failure("004", "POLICY_SEAL", f"policy {policy_id} unparsable: {exc}",
                            logical_id=policy_id, schema_ref=schema_ref, violation_count=1) from exc

    def check_version(self, policy_id: str, doc: dict, reg: dict) -> str:
        version = policy_version(doc)
        if is_placeholder(version):
            raise S0Failure("003", "POLICY_SEAL", f"policy {policy_id} has a placeholder version {version!r}",
                            missing_roles=[policy_id], conflicting_ids=[])
        semver = reg.get("semver")
        if not is_placeholder(semver) and norm_version(str(semver)) != norm_version(str(version)):
            raise S0Failure("003", "POLICY_SEAL",
                            f"policy {policy_id} version {version!r} differs from registry semver {semver!r}",
                            missing_roles=[], conflicting_ids=[policy_id])
        return str(version)

    def check_schema_ref(self, dataset_id: str, schema_ref: str) -> None:
        pack = schema_ref.split("#/", 1)[0]
        if "#/" not in schema_ref or pack not in SCHEMA_PACKS or not self.packs.has_anchor(schema_ref):
            raise S0Failure("002", "CATALOGUE", f"{dataset_id}: unresolvable schema_ref {schema_ref}",
                            catalogue_id=pack or "schema_ref", dataset_id=dataset_id)

    def digest(self, dataset_id: str, path: Path) -> str:
        try:
            digest = sha256_artefact(path)
        except FileChangedError as exc:
            raise S0Failure("010", "INFRASTRUCTURE", str(exc), operation="read", path=self.ctx.catalogue_path(dataset_id),
                            io_error_class="file_changed_while_hashed") from exc
        except OSError as exc:
            raise S0Failure("010", "INFRASTRUCTURE", f"cannot hash {dataset_id}: {exc}", operation="read",
                            path=self.ctx.catalogue_path(dataset_id), io_error_class=type(exc).__name__) from exc
        expected = (self.cat.registry_entry(dataset_id) or {}).get("digest")
        if isinstance(expected, str) and HEX64.match(expected) and expected != digest:
            raise S0Failure("006", "SEALED_INPUT_ENUMERATION", f"{dataset_id} digest differs from the registry",
                            logical_id=dataset_id, path=self.ctx.catalogue_path(dataset_id),
                            expected_sha256_hex=expected, computed_sha256_hex=digest)
        return digest

    def inventory_row(self, dataset_id: str, entry: dict, reg: dict, digest: str, kind_default: str) -> dict:
        owner = entry.get("owner_subsegment")
        row = {
            "manifest_fingerprint": self.fp,
            "owner_segment": owner,
            "artefact_kind": reg.get("type") or kind_default,
            "logical_id": dataset_id,
            "path": self.ctx.catalogue_path(dataset_id),
            "schema_ref": entry["schema_ref"],
            "sha256_hex": digest,
            "role": reg.get("role") or entry.get("description") or ("policy" if kind_default == "policy" else "input"),
            "license_class": reg.get("license") or entry.get("licence") or "unknown",
        }
        if owner == "ingress":
            row["notes"] = f"release={self.recorded_release(dataset_id)}"
        return row

    def recorded_release(self, dataset_id: str) -> str:
        """The source release recorded in the reference dataset's sidecar manifest."""
        data_path = self.ctx.path(dataset_id)
        sidecar = data_path.with_name(f"{data_path.stem}.manifest.json")
        try:
            meta = json.loads(sidecar.read_bytes())
        except (OSError, ValueError) as exc:
            raise S0Failure("005", "SEALED_INPUT_ENUMERATION", f"{dataset_id}: release manifest unreadable: {exc}",
                            unresolved_ids=[dataset_id], owner_segments=["ingress"]) from exc
        release = meta.get("upstream_release")
        if not release:
            raise S0Failure("005", "SEALED_INPUT_ENUMERATION", f"{dataset_id}: no release recorded in {sidecar.name}",
                            unresolved_ids=[dataset_id], owner_segments=["ingress"])
        return str(release)

    # step 6 (V-07)
    def seal_inputs(self) -> None:
        for seg in GATED_SEGMENTS:
            for dataset_id in (f"validation_bundle_{seg}", f"validation_passed_flag_{seg}"):
                entry, reg = self.entries_for_input(dataset_id)
                digest = self.upstream_gates[f"segment_{seg}"]["sha256_hex"]
                self.rows.append(self.inventory_row(dataset_id, entry, reg, digest, kind_default="input"))
        for dataset_id in (*REQUIRED_INPUTS, *OPTIONAL_INPUTS):
            entry, reg = self.entries_for_input(dataset_id)
            path = self.ctx.path(dataset_id)
            if not _non_empty(path):
                if dataset_id in OPTIONAL_INPUTS:
                    continue  # optional inputs are sealed iff present
                raise S0Failure("005", "SEALED_INPUT_ENUMERATION",
                                f"required input {dataset_id} absent at {self.ctx.catalogue_path(dataset_id)}",
                                unresolved_ids=[dataset_id], owner_segments=[entry.get("owner_subsegment")])
            digest = self.digest(dataset_id, path)
            self.rows.append(self.inventory_row(dataset_id, entry, reg, digest, kind_default="input"))

    def entries_for_input(self, dataset_id: str) -> tuple[dict, dict]:
        reg = self.cat.registry_entry(dataset_id)
        if not self.cat.has_entry(dataset_id) or reg is None:
            raise S0Failure("005", "SEALED_INPUT_ENUMERATION", f"{dataset_id} lacks a dictionary or registry entry",
                            unresolved_ids=[dataset_id])
        entry = self.cat.entry(dataset_id)
        self.check_schema_ref(dataset_id, entry["schema_ref"])
        return entry, reg

    # steps 7–9 (V-08/V-09)
    def finish_inventory(self) -> None:
        self.rows.sort(key=lambda r: tuple(r[k].encode("ascii") for k in ("owner_segment", "artefact_kind", "logical_id", "path")))
        ids = [r["logical_id"] for r in self.rows]
        paths = [(r["manifest_fingerprint"], r["path"]) for r in self.rows]
        if len(set(ids)) != len(ids) or len(set(paths)) != len(paths):
            raise S0Failure("008", "SEALED_INPUT_ENUMERATION", "duplicate logical_id or path in the inventory",
                            field_group="sealed_inputs_3A")
        for row in self.rows:
            violations = self.packs.validate_json(self.cat.entry(INVENTORY_ID)["schema_ref"], row)
            if violations:
                raise S0Failure("007", "OUTPUT_WRITE", f"inventory row {row['logical_id']} invalid: {violations[0]}",
                                output_id=INVENTORY_ID, violation_count=len(violations))
        by_id = {r["logical_id"]: r for r in self.rows}
        for item in self.policy_set:
            if by_id.get(item["logical_id"], {}).get("sha256_hex") != item["sha256_hex"]:
                raise S0Failure("008", "SEALED_INPUT_ENUMERATION", f"policy {item['logical_id']} not in the inventory",
                                field_group="sealed_policy_set", logical_id=item["logical_id"])
        for key, gate in self.upstream_gates.items():
            seg = key.split("_", 1)[1]
            for dataset_id in (f"validation_bundle_{seg}", f"validation_passed_flag_{seg}"):
                if by_id.get(dataset_id, {}).get("sha256_hex") != gate["sha256_hex"]:
                    raise S0Failure("008", "SEALED_INPUT_ENUMERATION", f"gate {seg} disagrees with the inventory",
                                    field_group="upstream_gates", logical_id=dataset_id)

    # steps 10–11
    def verified_at_utc(self) -> str:
        existing = self.ctx.path(RECEIPT_ID)
        if existing.is_file():
            try:
                value = json.loads(existing.read_bytes()).get("verified_at_utc")
                if isinstance(value, str) and RFC3339_MICROS.match(value):
                    return value
            except (OSError, ValueError):
                pass
        created = self.ctx.receipt.created_utc
        if RFC3339_MICROS.match(created or ""):
            return created
        raise S0Failure("010", "INFRASTRUCTURE", "no deterministic verified_at_utc source (run receipt created_utc)",
                         operation="read", io_error_class="no_verified_at_source")

    def build_receipt(self) -> dict:
        receipt_reg = self.cat.registry_entry(RECEIPT_ID) or {}
        receipt = {
            "version": str(receipt_reg.get("semver") or "1.0.0"),
            "manifest_fingerprint": self.fp,
            "parameter_hash": self.ctx.tokens.parameter_hash,
            "seed": self.ctx.tokens.seed,
            "verified_at_utc": self.verified_at_utc(),
            "upstream_gates": self.upstream_gates,
            "catalogue_versions": {
                f"{kind}_{seg}": self.cat.version(kind, seg)
                for kind in ("dictionary", "registry") for seg in ("1A", "1B", "2A", "2B", "3A")
            },
            "sealed_policy_set": self.policy_set,
        }
        violations = self.packs.validate_json(self.cat.entry(RECEIPT_ID)["schema_ref"], receipt)
        if violations:
            raise S0Failure("007", "OUTPUT_WRITE", f"gate receipt invalid: {violations[0]}",
                            output_id=RECEIPT_ID, violation_count=len(violations))
        for output_id in (INVENTORY_ID, RECEIPT_ID):
            if f"manifest_fingerprint={self.fp}" not in self.ctx.catalogue_path(output_id).split("/"):
                raise S0Failure("008", "OUTPUT_WRITE", f"{output_id} path lacks the fingerprint token",
                                field_group="sealed_inputs_3A", path=self.ctx.catalogue_path(output_id))
        return receipt

    # step 12
    def publish(self, receipt: dict) -> dict[str, bool]:
        published = {}
        for output_id, data in ((INVENTORY_ID, cj_bytes(self.rows)), (RECEIPT_ID, cj_bytes(receipt))):
            try:
                published[output_id] = publish_bytes(self.ctx.path(output_id), data).created
            except ImmutabilityViolation as exc:
                raise S0Failure("009", "IMMUTABILITY", f"{output_id} already exists with different content",
                                output_id=output_id, difference_kind="content") from exc
            except PublishIOError as exc:
                raise S0Failure("010", "OUTPUT_WRITE", str(exc), operation="write",
                                path=self.ctx.catalogue_path(output_id), io_error_class="rename_failed") from exc
        return published

    def run(self) -> S0Outcome:
        self.load_catalogue()
        self.check_cross_layer()
        self.verify_gates()
        self.seal_policies()
        self.seal_inputs()
        self.finish_inventory()
        self.check_upstream()
        receipt = self.build_receipt()
        published = self.publish(receipt)
        return S0Outcome(receipt, self.rows, dict(self.gate_status), published)


# --------------------------------------------------------------------------- entry points
def run_s0(ctx: RunContext) -> S0Outcome:
    """Run S0 and append its segment_state_runs row (PASS or FAIL)."""
    clock = StateClock()
    gate = S0Gate(ctx)
    try:
        outcome = gate.run()
    except S0Failure as failure:
        _report(ctx, clock, gate, "FAIL", failure)
        raise
    except CatalogueError as exc:
        failure = S0Failure("002", "CATALOGUE", str(exc), catalogue_id=exc.catalogue_id)
        _report(ctx, clock, gate, "FAIL", failure)
        raise failure from exc
    except Exception as exc:  # unclassified -> the INFRASTRUCTURE catch-all (01 §5.2)
        failure = S0Failure("010", "INFRASTRUCTURE", f"{type(exc).__name__}: {exc}", operation="read",
                            io_error_class=type(exc).__name__)
        _report(ctx, clock, gate, "FAIL", failure)
        raise failure from exc
    _report(ctx, clock, gate, "PASS", None)
    return outcome


def _report(ctx: RunContext, clock: StateClock, gate: S0Gate, status: str, failure: S0Failure | None) -> None:
    row = identity_fields(STATE, ctx.tokens, status)
    by_owner: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    rows = gate.rows if status == "PASS" else []
    for item in rows:
        by_owner[item["owner_segment"]] = by_owner.get(item["owner_segment"], 0) + 1
        by_kind[item["artefact_kind"]] = by_kind.get(item["artefact_kind"], 0) + 1
    row.update({
        "error_code": failure.code if failure else None,
        "error_class": ERROR_CLASS[failure.number] if failure else None,
        "error_details": failure.context if failure else None,
        "first_failure_phase": failure.phase if failure else None,
        **{f"gate_{seg}_status": gate.gate_status[seg] for seg in GATED_SEGMENTS},
        "sealed_input_count_total": len(rows),
        "sealed_input_count_by_owner_segment": by_owner,
        "sealed_input_count_by_kind": by_kind,
        "sealed_policy_count": len(gate.policy_set) if status == "PASS" else 0,
        "sealed_policy_roles": [p["logical_id"] for p in gate.policy_set] if status == "PASS" else [],
        **clock.finish(),
    })
    try:
        append_segment_state_run(ctx.catalogue, ctx.run_root, ctx.tokens, row)
    except OSError:
        pass  # a report that cannot be written never changes the state's status (04 §0)
    _log_event(ctx, status, failure)


def _log_event(ctx: RunContext, status: str, failure: S0Failure | None) -> None:
    event = {
        "event": "STATE_SUCCESS" if status == "PASS" else "STATE_FAILURE",
        "segment": "3A", "state": STATE, "manifest_fingerprint": ctx.tokens.manifest_fingerprint,
        "severity": "INFO" if status == "PASS" else "ERROR",
    }
    if failure:
        event.update({"error_code": failure.code, "error_class": ERROR_CLASS[failure.number], "error_details": failure.context})
    print(json.dumps(event, sort_keys=True, default=str), file=sys.stderr)


def resolve_context(runs_root: Path | None = None, run_id: str | None = None) -> RunContext:
    """Identity for S0; an unusable receipt is E3A_S0_010 (no report row: identity unknown)."""
    try:
        return RunContext.resolve(runs_root, run_id)
    except (ReceiptError, CatalogueError) as exc:
        raise S0Failure("010", "INFRASTRUCTURE", str(exc), operation="read", io_error_class="run_receipt_invalid") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seg3a s0", description="Run 3A.S0 (gate and sealed inputs) on a run root.")
    add_run_arguments(parser, "gate")
    args = parser.parse_args(argv)
    try:
        ctx = resolve_context(args.runs_root, args.run_id)
        hold_build_locks(ctx.run_root, None)  # as a dbt build does: one writer per run root
        outcome = run_s0(ctx)
    except LockHeld as exc:
        print(f"S0 FAIL {exc}", file=sys.stderr)
        return 1
    except S0Failure as failure:
        print(f"S0 FAIL {failure}", file=sys.stderr)
        return 1
    state = "published" if any(outcome.published.values()) else "unchanged (identical outputs exist)"
    print(f"S0 PASS: {len(outcome.rows)} sealed inputs, {len(outcome.receipt['sealed_policy_set'])} policies; outputs {state}")
    return 0
