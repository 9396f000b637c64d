"""Re-seal the upstream bundles of a world after its data was edited, as the upstream
segment would on a re-emit: 1A's `egress_checksums.json` is rewritten for the outlet
partition as it now is, 2A's evidence copies of the cache manifest and legality report
are refreshed, and both indexes and flags are recomputed (05 §5).

Used by tests and fuzzing that change upstream rows on purpose and want 3A's own checks,
not the egress attestation, to judge them."""
from __future__ import annotations

import json
from pathlib import Path

from seg3a.core.cjson import cj_bytes
from seg3a.core.digests import list_files, sha256_bytes, sha256_concat
from seg3a.core.hashgate import FLAG_NAME, INDEX_NAME, composite_digest, flag_bytes

EGRESS_CHECKSUMS = "egress_checksums.json"
TZ_CACHE_MANIFEST = "tz_timetable_cache.json"


def reseal_1a(outlet_partition: Path, bundle_1a: Path) -> None:
    """egress_checksums.json attests the partition's current files; the flag follows."""
    checksums = bundle_1a / EGRESS_CHECKSUMS
    doc = json.loads(checksums.read_bytes())
    files = list_files(outlet_partition)
    records = []
    for rel in files:
        digest, size = sha256_concat(outlet_partition, [rel])
        records.append({"path": rel, "sha256_hex": digest, "size_bytes": size})
    doc["files"] = records
    doc["composite_sha256_hex"] = sha256_concat(outlet_partition, files)[0]
    checksums.write_bytes(cj_bytes(doc))
    index = json.loads((bundle_1a / INDEX_NAME).read_bytes())
    (bundle_1a / FLAG_NAME).write_bytes(flag_bytes(composite_digest(bundle_1a, [r["path"] for r in index])))


def reseal_2a(bundle_2a: Path, seed: int, tz_cache: Path | None, legality_report: Path | None) -> None:
    """The evidence copies equal the sealed files again; index digests and flag follow."""
    copies = {}
    if tz_cache is not None and (tz_cache / TZ_CACHE_MANIFEST).is_file():
        copies["evidence/s3/tz_timetable_cache.manifest.json"] = (tz_cache / TZ_CACHE_MANIFEST).read_bytes()
    if legality_report is not None and legality_report.is_file():
        copies[f"evidence/s4/seed={seed}/s4_legality_report.json"] = legality_report.read_bytes()
    for rel, data in copies.items():
        if (bundle_2a / rel).is_file():
            (bundle_2a / rel).write_bytes(data)
    index = json.loads((bundle_2a / INDEX_NAME).read_bytes())
    for row in index["files"]:
        row["sha256_hex"] = sha256_bytes((bundle_2a / row["path"]).read_bytes())
    (bundle_2a / INDEX_NAME).write_bytes(cj_bytes(index))
    paths = [row["path"] for row in index["files"]]
    (bundle_2a / FLAG_NAME).write_bytes(flag_bytes(composite_digest(bundle_2a, paths)))


def reseal_world(path_of, seed: int) -> None:
    """Both bundles of a world whose dataset paths `path_of(dataset_id)` gives."""
    reseal_1a(path_of("outlet_catalogue"), path_of("validation_bundle_1A"))
    legality = path_of("s4_legality_report")
    reseal_2a(path_of("validation_bundle_2A"), seed, path_of("tz_timetable_cache"), legality)
