"""Schema packs (contracts/schemas) and the validation library (seg3a.core.schemas).

* every fixture under tests/contracts/<name>/valid passes its anchor and every file
  under invalid/ fails for the reason recorded in tests/contracts/anchors.yaml;
* the packs are internally sound (ids, refs, numeric keywords, table shapes);
* validate_table catches each kind of table defect on small Arrow tables and Parquet.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from jsonschema import Draft202012Validator

from seg3a.core.schemas import (
    PACK_NAMES,
    AnchorError,
    PackLoadError,
    SchemaKindError,
    SchemaPacks,
    Violation,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
FIXTURES = ROOT / "tests" / "contracts"
MANIFEST = yaml.safe_load((FIXTURES / "anchors.yaml").read_text())

F = "0123456789abcdef" * 4
P = "fedcba9876543210" * 4


@pytest.fixture(scope="module")
def packs() -> SchemaPacks:
    return SchemaPacks.load(CONTRACTS)


# ------------------------------------------------------------------ fixtures


def _fixture_files(kind: str) -> list[pytest.param]:
    params = []
    for name in sorted(MANIFEST):
        for path in sorted((FIXTURES / name / kind).glob("*.json")):
            params.append(pytest.param(name, path, id=f"{name}/{kind}/{path.stem}"))
    return params


def test_every_fixture_directory_is_registered() -> None:
    dirs = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert dirs == set(MANIFEST), "tests/contracts directories and anchors.yaml disagree"
    for name in dirs:
        valid = list((FIXTURES / name / "valid").glob("*.json"))
        invalid = {p.stem for p in (FIXTURES / name / "invalid").glob("*.json")}
        assert valid, f"{name} has no valid fixture"
        assert invalid, f"{name} has no invalid fixture"
        assert invalid == set(MANIFEST[name]["invalid"]), f"{name}: invalid files and expectations differ"


@pytest.mark.parametrize(("name", "path"), _fixture_files("valid"))
def test_valid_fixture_passes(packs: SchemaPacks, name: str, path: Path) -> None:
    violations = packs.validate_json(MANIFEST[name]["anchor"], json.loads(path.read_text()))
    assert violations == [], [str(v) for v in violations]


@pytest.mark.parametrize(("name", "path"), _fixture_files("invalid"))
def test_invalid_fixture_fails_for_its_reason(packs: SchemaPacks, name: str, path: Path) -> None:
    expect = MANIFEST[name]["invalid"][path.stem]
    violations = packs.validate_json(MANIFEST[name]["anchor"], json.loads(path.read_text()))
    assert violations, f"{path.name} unexpectedly passes {MANIFEST[name]['anchor']}"
    assert any(v.path == expect["path"] and expect["message"] in v.message for v in violations), (
        f"expected a violation at {expect['path']} mentioning {expect['message']!r}; got {[str(v) for v in violations]}"
    )


# ------------------------------------------------------------- pack soundness

REQUIRED_ANCHORS = [
    "schemas.layer1.yaml#/$defs/hex64",
    "schemas.layer1.yaml#/$defs/hex32",
    "schemas.layer1.yaml#/$defs/uint64",
    "schemas.layer1.yaml#/$defs/id64",
    "schemas.layer1.yaml#/$defs/rfc3339_micros",
    "schemas.layer1.yaml#/$defs/iso2",
    "schemas.layer1.yaml#/$defs/iso3",
    "schemas.layer1.yaml#/$defs/iana_tzid",
    "schemas.layer1.yaml#/$defs/tzid_ingress",
    "schemas.layer1.yaml#/$defs/semver",
    "schemas.layer1.yaml#/rng/core/rng_audit_log",
    "schemas.layer1.yaml#/rng/core/rng_trace_log",
    "schemas.layer1.yaml#/rng/events/zone_dirichlet",
    "schemas.layer1.yaml#/run_report/segment_state_run",
    "schemas.layer1.yaml#/validation/passed_flag",
    "schemas.layer1.yaml#/validation/passed_flag_3A",
    "schemas.layer1.yaml#/validation/validation_bundle_index_3A",
    "schemas.ingress.layer1.yaml#/iso3166_canonical_2024",
    "schemas.ingress.layer1.yaml#/world_countries",
    "schemas.ingress.layer1.yaml#/tz_world_2025a",
    "schemas.1A.yaml#/egress/outlet_catalogue",
    "schemas.1A.yaml#/validation/validation_bundle",
    "schemas.1A.yaml#/validation/validation_bundle_index_1A",
    "schemas.1B.yaml#/validation/validation_bundle_1B",
    "schemas.1B.yaml#/validation/validation_bundle_index_1B",
    "schemas.1B.yaml#/validation/passed_flag",
    "schemas.2A.yaml#/validation/validation_bundle_2A",
    "schemas.2A.yaml#/validation/validation_bundle_index_2A",
    "schemas.2A.yaml#/validation/passed_flag",
    "schemas.2A.yaml#/egress/site_timezones",
    "schemas.2A.yaml#/cache/tz_timetable_cache",
    "schemas.2A.yaml#/validation/s4_legality_report",
    "schemas.2B.yaml#/policy/day_effect_policy_v1",
    "schemas.3A.yaml#/validation/s0_gate_receipt_3A",
    "schemas.3A.yaml#/validation/sealed_inputs_3A",
    "schemas.3A.yaml#/plan/s1_escalation_queue",
    "schemas.3A.yaml#/plan/s2_country_zone_priors",
    "schemas.3A.yaml#/plan/s3_zone_shares",
    "schemas.3A.yaml#/plan/s4_zone_counts",
    "schemas.3A.yaml#/egress/zone_alloc",
    "schemas.3A.yaml#/validation/zone_alloc_universe_hash",
    "schemas.3A.yaml#/validation/s6_validation_report_3A",
    "schemas.3A.yaml#/validation/s6_issue_table_3A",
    "schemas.3A.yaml#/validation/s6_receipt_3A",
    "schemas.3A.yaml#/policy/zone_mixture_policy_v1",
    "schemas.3A.yaml#/policy/country_zone_alphas_v1",
    "schemas.3A.yaml#/policy/zone_floor_policy_v1",
]

TABLE_ANCHORS = [
    "schemas.ingress.layer1.yaml#/iso3166_canonical_2024",
    "schemas.ingress.layer1.yaml#/world_countries",
    "schemas.ingress.layer1.yaml#/tz_world_2025a",
    "schemas.1A.yaml#/egress/outlet_catalogue",
    "schemas.2A.yaml#/egress/site_timezones",
    "schemas.3A.yaml#/plan/s1_escalation_queue",
    "schemas.3A.yaml#/plan/s2_country_zone_priors",
    "schemas.3A.yaml#/plan/s3_zone_shares",
    "schemas.3A.yaml#/plan/s4_zone_counts",
    "schemas.3A.yaml#/egress/zone_alloc",
    "schemas.3A.yaml#/validation/s6_issue_table_3A",
]


def test_seven_packs_load_with_ids_and_versions(packs: SchemaPacks) -> None:
    assert packs.names == PACK_NAMES
    for name in PACK_NAMES:
        assert packs.resolve(f"{name}#/$id") == name
        assert packs.version(name) == "1.0.0"
        assert packs.sources[name] == CONTRACTS / "schemas" / name


@pytest.mark.parametrize("anchor", REQUIRED_ANCHORS)
def test_required_anchor_present(packs: SchemaPacks, anchor: str) -> None:
    assert packs.has_anchor(anchor)
    assert anchor in packs.anchors() or anchor.endswith("#/$id")


def test_anchor_kinds(packs: SchemaPacks) -> None:
    tables = [a for a in packs.anchors() if packs.is_table(a)]
    assert sorted(tables) == sorted(TABLE_ANCHORS)
    bundles = [a for a in packs.anchors() if not packs.is_json(a) and not packs.is_table(a)]
    assert sorted(bundles) == sorted(
        [
            "schemas.1A.yaml#/validation/validation_bundle",
            "schemas.1B.yaml#/validation/validation_bundle_1B",
            "schemas.2A.yaml#/validation/validation_bundle_2A",
        ]
    )


def test_every_json_anchor_is_a_valid_2020_12_schema(packs: SchemaPacks) -> None:
    json_anchors = [a for a in packs.anchors() if packs.is_json(a)]
    assert len(json_anchors) > 40
    for anchor in json_anchors:
        Draft202012Validator.check_schema(packs.resolve(anchor))
        packs.validate_json(anchor, None)  # compiles and evaluates every $ref path it reaches


def _walk(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def test_every_ref_and_anchor_string_resolves(packs: SchemaPacks) -> None:
    refs = 0
    for pack in PACK_NAMES:
        for where, key, value in _walk(yaml.safe_load((CONTRACTS / "schemas" / pack).read_text())):
            if key == "$ref":
                target = f"{pack}{value}" if value.startswith("#") else value
            elif key in ("index_anchor", "flag_anchor"):
                target = value
            else:
                continue
            refs += 1
            assert packs.has_anchor(target), f"{pack}{where}: {key} {value!r} does not resolve"
    assert refs > 100


NUMERIC_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "minProperties"}


def test_numeric_keywords_are_numbers_and_patterns_compile() -> None:
    # YAML would silently read `1e-06` or `0.5.1` as strings; every bound must be a number.
    for pack in PACK_NAMES:
        doc = yaml.safe_load((CONTRACTS / "schemas" / pack).read_text())
        for where, key, value in _walk(doc):
            if key in NUMERIC_KEYWORDS and not where.endswith("/properties"):
                assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{pack}{where}/{key} = {value!r}"
            if key == "pattern" and isinstance(value, str):
                re.compile(value)


def test_table_shapes_are_well_formed(packs: SchemaPacks) -> None:
    for anchor in TABLE_ANCHORS:
        columns = packs.table_columns(anchor)
        names = [c["name"] for c in columns]
        assert len(names) == len(set(names)), anchor
        spec = packs.table_spec(anchor)
        assert spec["columns_strict"] is True, anchor
        for key in spec["primary_key"] + spec["sort_keys"] + [c for k in spec["unique_keys"] for c in k]:
            assert key in names, f"{anchor}: key column {key} not a column"
        for col in columns:
            assert set(col) <= {
                "name", "type", "nullable", "logical", "pattern", "enum", "minimum", "maximum",
                "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "aliases", "crs", "description",
            }, f"{anchor}.{col['name']}: unknown column keys"
            assert isinstance(col["nullable"], bool), f"{anchor}.{col['name']}"
        schema = packs.arrow_schema(anchor)
        assert schema.names == names


def test_logical_column_rules_match_layer1_defs(packs: SchemaPacks) -> None:
    checked = 0
    for anchor in TABLE_ANCHORS:
        for col in packs.table_columns(anchor):
            if "logical" not in col:
                continue
            definition = packs.resolve(f"schemas.layer1.yaml#/$defs/{col['logical']}")
            for key in ("pattern", "minLength", "maxLength", "minimum"):
                if key in definition:
                    assert col.get(key) == definition[key], f"{anchor}.{col['name']}: {key} differs from $defs/{col['logical']}"
            checked += 1
    assert checked > 30


def test_issue_table_columns_mirror_its_row_schema(packs: SchemaPacks) -> None:
    anchor = "schemas.3A.yaml#/validation/s6_issue_table_3A"
    row = packs.resolve(anchor)
    columns = packs.table_columns(anchor)
    assert [c["name"] for c in columns] == list(row["properties"])
    assert sorted(c["name"] for c in columns if not c["nullable"]) == sorted(row["required"])
    defs = packs.resolve("schemas.3A.yaml#/$defs")
    by_name = {c["name"]: c for c in columns}
    assert by_name["issue_code"]["enum"] == defs["issue_code"]["enum"]
    assert by_name["check_id"]["enum"] == defs["check_id"]["enum"]
    assert by_name["severity"]["enum"] == defs["severity"]["enum"]


def test_spec_column_orders(packs: SchemaPacks) -> None:
    def names(anchor: str) -> list[str]:
        return [c["name"] for c in packs.table_columns(anchor)]

    assert names("schemas.3A.yaml#/egress/zone_alloc") == [
        "seed", "manifest_fingerprint", "merchant_id", "legal_country_iso", "tzid", "zone_site_count",
        "zone_site_count_sum", "site_count", "prior_pack_id", "prior_pack_version", "floor_policy_id",
        "floor_policy_version", "mixture_policy_id", "mixture_policy_version", "day_effect_policy_id",
        "day_effect_policy_version", "routing_universe_hash", "alpha_sum_country", "notes",
    ]
    assert names("schemas.3A.yaml#/plan/s1_escalation_queue")[-4:] == [
        "theta_digest", "eligible_for_escalation", "dominant_zone_share_bucket", "notes",
    ]
    assert names("schemas.3A.yaml#/plan/s4_zone_counts")[5:10] == [
        "zone_site_count", "zone_site_count_sum", "share_sum_country", "fractional_target", "residual_rank",
    ]
    event = packs.resolve("schemas.layer1.yaml#/rng/events/zone_dirichlet")
    assert len(event["required"]) == 21 and set(event["required"]) == set(event["properties"])


# ------------------------------------------------------------ resolve / load


def test_resolve_errors_name_the_pack_and_path(packs: SchemaPacks) -> None:
    with pytest.raises(AnchorError, match="unknown schema pack 'schemas.4A.yaml'"):
        packs.resolve("schemas.4A.yaml#/plan/x")
    with pytest.raises(AnchorError, match=r"not found in schemas.3A.yaml: no 'nope' under '/plan'"):
        packs.resolve("schemas.3A.yaml#/plan/nope")
    with pytest.raises(AnchorError, match="malformed anchor"):
        packs.resolve("schemas.3A.yaml/plan/s1_escalation_queue")
    with pytest.raises(AnchorError, match="empty path"):
        packs.resolve("schemas.3A.yaml#/")
    assert not packs.has_anchor("schemas.3A.yaml#/plan/nope")
    assert not packs.has_anchor("3A#/egress/zone_alloc")
    with pytest.raises(AnchorError):
        packs.validate_json("schemas.3A.yaml#/plan/nope", {})


def test_resolve_returns_a_copy(packs: SchemaPacks) -> None:
    node = packs.resolve("schemas.layer1.yaml#/$defs/hex64")
    node["pattern"] = ".*"
    assert packs.resolve("schemas.layer1.yaml#/$defs/hex64")["pattern"] == "^[a-f0-9]{64}$"
    assert packs.validate_json("schemas.layer1.yaml#/$defs/hex64", "x") != []


def test_wrong_kind_is_refused(packs: SchemaPacks) -> None:
    with pytest.raises(SchemaKindError, match="table"):
        packs.validate_json("schemas.3A.yaml#/egress/zone_alloc", {})
    with pytest.raises(SchemaKindError, match="bundle"):
        packs.validate_json("schemas.1A.yaml#/validation/validation_bundle", [])
    with pytest.raises(SchemaKindError, match="not a table"):
        packs.validate_table("schemas.3A.yaml#/validation/s0_gate_receipt_3A", pa.table({"a": [1]}))
    with pytest.raises(SchemaKindError):
        packs.table_columns("schemas.layer1.yaml#/$defs/hex64")


@pytest.fixture()
def contracts_copy(tmp_path: Path) -> Path:
    target = tmp_path / "contracts" / "schemas"
    shutil.copytree(CONTRACTS / "schemas", target)
    return tmp_path / "contracts"


def test_load_accepts_the_schemas_directory_itself(contracts_copy: Path) -> None:
    assert SchemaPacks.load(contracts_copy / "schemas").names == PACK_NAMES


def test_load_missing_pack_names_the_file(contracts_copy: Path) -> None:
    (contracts_copy / "schemas" / "schemas.2B.yaml").unlink()
    with pytest.raises(PackLoadError, match="schemas.2B.yaml is missing") as info:
        SchemaPacks.load(contracts_copy)
    assert info.value.pack == "schemas.2B.yaml"


@pytest.mark.parametrize(
    ("pack", "text", "message"),
    [
        ("schemas.1A.yaml", "$id: schemas.1A.yaml\nversion: 1.0.0\negress: [unclosed\n", "not valid YAML"),
        ("schemas.1B.yaml", "- just\n- a list\n", "not a mapping"),
        ("schemas.2A.yaml", "$id: schemas.2B.yaml\nversion: 1.0.0\n", "expected 'schemas.2A.yaml'"),
        ("schemas.3A.yaml", "$id: schemas.3A.yaml\n", "version"),
        ("schemas.3A.yaml", "$id: schemas.3A.yaml\nversion: 1.0.0\nplan: {a: {type: string}, a: {type: integer}}\n", "duplicate key"),
        ("schemas.ingress.layer1.yaml", "$id: schemas.ingress.layer1.yaml\nversion: 1.0.0\nNO: {type: string}\n", "non-string key"),
    ],
    ids=["unparsable", "not_mapping", "wrong_id", "no_version", "duplicate_key", "yaml_boolean_key"],
)
def test_load_rejects_malformed_pack(contracts_copy: Path, pack: str, text: str, message: str) -> None:
    (contracts_copy / "schemas" / pack).write_text(text)
    with pytest.raises(PackLoadError, match=message) as info:
        SchemaPacks.load(contracts_copy)
    assert info.value.pack == pack
    assert pack in str(info.value)


# ------------------------------------------------------------ JSON semantics


def test_cross_pack_refs_resolve(packs: SchemaPacks) -> None:
    # 1B's index is a $ref to 1A's anchor, which itself refs layer-1 $defs.
    entry = {"artifact_id": "index", "kind": "table", "path": "index.json", "mime": None, "notes": None}
    assert packs.validate_json("schemas.1B.yaml#/validation/validation_bundle_index_1B", [entry]) == []
    bad = dict(entry, artifact_id="in dex")
    [violation] = packs.validate_json("schemas.1B.yaml#/validation/validation_bundle_index_1B", [bad])
    assert violation.path == "$[0].artifact_id"


def test_patterns_use_ecma_end_of_input(packs: SchemaPacks) -> None:
    hex64 = "ab" * 32
    assert packs.validate_json("schemas.layer1.yaml#/$defs/hex64", hex64) == []
    assert packs.validate_json("schemas.layer1.yaml#/$defs/hex64", hex64 + "\n") != []
    assert packs.validate_json("schemas.layer1.yaml#/$defs/iso2", "US\n") != []
    # ECMA \d-free patterns: a non-ASCII digit is not a digit.
    assert packs.validate_json("schemas.layer1.yaml#/$defs/rfc3339_micros", "2026-01-15T09:30:00.00000\u0661Z") != []


def test_integers_are_strict(packs: SchemaPacks) -> None:
    anchor = "schemas.layer1.yaml#/$defs/uint64"
    assert packs.validate_json(anchor, 18446744073709551615) == []
    assert packs.validate_json(anchor, 18446744073709551616) != []
    assert packs.validate_json(anchor, 1.0) != []
    assert packs.validate_json(anchor, True) != []
    assert packs.validate_json("schemas.3A.yaml#/$defs/unit_interval", float("nan")) != []
    assert packs.validate_json("schemas.3A.yaml#/$defs/unit_interval", 1) == []


def test_violations_are_sorted_and_deterministic(packs: SchemaPacks) -> None:
    anchor = "schemas.3A.yaml#/validation/s0_gate_receipt_3A"
    receipt = json.loads((FIXTURES / "s0_gate_receipt_3A" / "valid" / "full_receipt.json").read_text())
    receipt["seed"] = -1
    receipt["manifest_fingerprint"] = "X"
    receipt["sealed_policy_set"][1]["notes"] = "v"
    receipt["sealed_policy_set"][0]["notes"] = "v"
    receipt["zzz"] = 1
    first = packs.validate_json(anchor, receipt)
    assert first == packs.validate_json(anchor, receipt)
    # Ordered by instance path component by component (array indices numerically).
    assert [v.path for v in first] == [
        "$", "$.manifest_fingerprint", "$.sealed_policy_set[0].notes", "$.sealed_policy_set[1].notes", "$.seed",
    ]


def test_validate_json_items_prefixes_row_index(packs: SchemaPacks) -> None:
    rows = json.loads((FIXTURES / "sealed_inputs_3A" / "valid" / "policy_row.json").read_text())
    bad = dict(rows, owner_segment="4Z")
    out = packs.validate_json_items("schemas.3A.yaml#/validation/sealed_inputs_3A", [rows, bad, rows])
    assert [v.path for v in out] == ["$[1].owner_segment"]


# -------------------------------------------------------------------- tables

S1 = "schemas.3A.yaml#/plan/s1_escalation_queue"


def s1_rows(n: int = 3) -> list[dict]:
    countries = ["BR", "DE", "US"]
    return [
        {
            "seed": 42,
            "manifest_fingerprint": F,
            "merchant_id": 1 + i // 3,
            "legal_country_iso": countries[i % 3],
            "site_count": 5 + i,
            "zone_count_country": 4,
            "is_escalated": True,
            "decision_reason": "forced_escalation",
            "mixture_policy_id": "zone_mixture_policy_3A",
            "mixture_policy_version": "v1.0.0",
            "theta_digest": P,
            "eligible_for_escalation": True,
            "dominant_zone_share_bucket": None,
            "notes": None,
        }
        for i in range(n)
    ]


def s1_table(packs: SchemaPacks, rows: list[dict] | None = None) -> pa.Table:
    return pa.Table.from_pylist(rows if rows is not None else s1_rows(), schema=packs.arrow_schema(S1))


def test_valid_table_passes(packs: SchemaPacks) -> None:
    assert packs.validate_table(S1, s1_table(packs, s1_rows(30))) == []
    assert packs.validate_table(S1, s1_table(packs, [])) == []


def test_table_wrong_type(packs: SchemaPacks) -> None:
    table = s1_table(packs)
    table = table.set_column(4, pa.field("site_count", pa.int64()), table.column("site_count").cast(pa.int64()))
    [violation] = packs.validate_table(S1, table)
    assert violation.path == "columns.site_count"
    assert "int64" in violation.message and "uint32" in violation.message


def test_table_extra_missing_and_reordered_columns(packs: SchemaPacks) -> None:
    table = s1_table(packs)
    extra = table.append_column("row_hash", pa.array(["x"] * table.num_rows))
    [violation] = packs.validate_table(S1, extra)
    assert (violation.path, violation.message) == ("columns", "unexpected column(s): row_hash")

    missing = table.drop_columns(["notes"])
    [violation] = packs.validate_table(S1, missing)
    assert violation.message == "missing column(s): notes"

    names = table.column_names
    swapped = table.select([names[1], names[0], *names[2:]])
    [violation] = packs.validate_table(S1, swapped)
    assert violation.path == "columns" and "out of contract order" in violation.message


def test_table_null_in_non_nullable(packs: SchemaPacks) -> None:
    rows = s1_rows()
    rows[1]["decision_reason"] = None
    rows[2]["notes"] = "nullable column may hold text"
    [violation] = packs.validate_table(S1, s1_table(packs, rows))
    assert violation.path == "columns.decision_reason"
    assert "null in non-nullable" in violation.message and "[1]" in violation.message


def test_table_pattern_enum_and_minimum(packs: SchemaPacks) -> None:
    rows = s1_rows()
    rows[0]["manifest_fingerprint"] = F.upper()
    rows[1]["decision_reason"] = "escalate"
    rows[2]["site_count"] = 0
    rows[2]["theta_digest"] = P + "\n"
    out = {v.path: v for v in packs.validate_table(S1, s1_table(packs, rows))}
    assert set(out) == {
        "columns.manifest_fingerprint", "columns.decision_reason", "columns.site_count", "columns.theta_digest",
    }
    assert "does not match" in out["columns.manifest_fingerprint"].message
    assert "row 0" in out["columns.manifest_fingerprint"].message
    assert "not one of" in out["columns.decision_reason"].message
    assert "below minimum 1" in out["columns.site_count"].message


def test_table_duplicate_primary_key(packs: SchemaPacks) -> None:
    rows = s1_rows()
    rows[2]["legal_country_iso"] = "DE"
    out = packs.validate_table(S1, s1_table(packs, rows))
    [dup] = [v for v in out if v.path == "primary_key"]
    assert dup.count == 1
    assert "merchant_id=1, legal_country_iso='DE'" in dup.message and "x2" in dup.message
    assert [v.path for v in out] == ["primary_key"]  # still sorted (ties keep order)


def test_table_unsorted(packs: SchemaPacks) -> None:
    rows = s1_rows(6)
    rows[0], rows[4] = rows[4], rows[0]
    [violation] = packs.validate_table(S1, s1_table(packs, rows))
    assert violation.path == "sort_keys"
    assert "first misplaced row 0" in violation.message
    # merchant_id compares numerically, not as text: 10 sorts after 9.
    rows = [dict(s1_rows(1)[0], merchant_id=9), dict(s1_rows(1)[0], merchant_id=10)]
    assert packs.validate_table(S1, s1_table(packs, rows)) == []


def test_table_counts_and_few_examples(packs: SchemaPacks) -> None:
    rows = s1_rows(3000)
    for row in rows:
        row["legal_country_iso"] = row["legal_country_iso"].lower()
    [violation] = packs.validate_table(S1, s1_table(packs, rows))
    assert violation.count == 3000
    assert violation.message.count("row ") == 3
    assert "(3000 rows)" in str(violation)


def test_table_uint64_bounds_at_the_top_of_the_range(packs: SchemaPacks) -> None:
    rows = s1_rows(1)
    rows[0]["merchant_id"] = 2**64 - 1
    rows[0]["seed"] = 2**64 - 1
    assert packs.validate_table(S1, s1_table(packs, rows)) == []
    rows[0]["merchant_id"] = 0
    [violation] = packs.validate_table(S1, s1_table(packs, rows))
    assert violation.path == "columns.merchant_id" and "below minimum 1" in violation.message


def test_table_floats_must_be_finite_and_in_range(packs: SchemaPacks) -> None:
    anchor = "schemas.3A.yaml#/plan/s2_country_zone_priors"
    row = {
        "parameter_hash": P, "country_iso": "US", "tzid": "America/Chicago", "alpha_raw": 2.5, "alpha_effective": 2.5,
        "alpha_sum_country": 4.6, "prior_pack_id": "country_zone_alphas", "prior_pack_version": "v1.0.0",
        "floor_policy_id": "zone_floor_policy", "floor_policy_version": "v1.0.0", "floor_applied": False,
        "bump_applied": False, "share_effective": 0.5434782608695652, "notes": None,
    }
    schema = packs.arrow_schema(anchor)
    assert packs.validate_table(anchor, pa.Table.from_pylist([row], schema=schema)) == []
    bad = [dict(row, alpha_effective=float("nan")), dict(row, tzid="America/Denver", alpha_raw=-1.0, share_effective=1.5),
           dict(row, tzid="America/New_York", alpha_sum_country=0.0)]
    out = {v.path: v.message for v in packs.validate_table(anchor, pa.Table.from_pylist(bad, schema=schema))}
    assert "non-finite" in out["columns.alpha_effective"]
    assert "below minimum 0" in out["columns.alpha_raw"]
    assert "above maximum 1" in out["columns.share_effective"]
    assert "not above exclusive minimum 0" in out["columns.alpha_sum_country"]


def test_table_issue_table_sorts_nulls_first(packs: SchemaPacks) -> None:
    anchor = "schemas.3A.yaml#/validation/s6_issue_table_3A"
    base = {"manifest_fingerprint": F, "issue_code": "S3_MISSING_PAIR", "check_id": "CHK_S3_DOMAIN_ALIGNMENT",
            "severity": "ERROR", "message": "missing_s3_pair", "merchant_id": None, "legal_country_iso": None,
            "tzid": None, "details": None}
    rows = [base, dict(base, merchant_id=5, legal_country_iso="US"), dict(base, merchant_id=5, legal_country_iso="US")]
    schema = packs.arrow_schema(anchor)
    assert packs.validate_table(anchor, pa.Table.from_pylist(rows, schema=schema)) == []  # no primary key: ties allowed
    [violation] = packs.validate_table(anchor, pa.Table.from_pylist(rows[::-1], schema=schema))
    assert violation.path == "sort_keys"
    assert packs.validate_table(anchor, pa.Table.from_pylist([], schema=schema)) == []


def test_table_geometry_alias_and_binary_type(packs: SchemaPacks) -> None:
    anchor = "schemas.ingress.layer1.yaml#/world_countries"
    wkb = bytes.fromhex("0101000000000000000000f03f0000000000000040")
    table = pa.table({"country_iso": ["FR", "US"], "name": ["France", None], "geometry": pa.array([wkb, wkb], pa.binary())})
    assert packs.validate_table(anchor, table) == []
    as_text = table.set_column(2, "geom", pa.array(["POINT(1 2)"] * 2))
    [violation] = packs.validate_table(anchor, as_text)
    assert violation.path == "columns.geom" and "string" in violation.message


def test_table_unique_keys(packs: SchemaPacks) -> None:
    anchor = "schemas.ingress.layer1.yaml#/iso3166_canonical_2024"
    rows = [
        {"country_iso": "AN", "alpha3": "ANT", "numeric_code": 530, "name": "Netherlands Antilles"},
        {"country_iso": "CS", "alpha3": "SCG", "numeric_code": 891, "name": "Serbia and Montenegro"},
        {"country_iso": "CW", "alpha3": "SCG", "numeric_code": 891, "name": "Curacao"},
    ]
    for row in rows:
        row.update(region=None, subregion=None, start_date=None, end_date=None)
    table = pa.Table.from_pylist(rows, schema=packs.arrow_schema(anchor))
    [violation] = packs.validate_table(anchor, table)
    assert violation.path == "unique_keys" and "alpha3='SCG'" in violation.message


def test_table_from_parquet_file_and_partition_directory(packs: SchemaPacks, tmp_path: Path) -> None:
    partition = tmp_path / "seed=42" / f"manifest_fingerprint={F}"
    partition.mkdir(parents=True)
    table = s1_table(packs, s1_rows(6))
    pq.write_table(table.slice(0, 3), partition / "part-00000.parquet", compression="zstd")
    pq.write_table(table.slice(3), partition / "part-00001.parquet", compression="zstd")
    # Partition tokens stay in the path: reading must not add seed/manifest columns.
    assert packs.validate_table(S1, partition) == []
    assert packs.validate_table(S1, partition / "part-00000.parquet") == []

    (partition / "part-00001.parquet").rename(partition / "part-00-first.parquet")
    [violation] = packs.validate_table(S1, str(partition))
    assert violation.path == "sort_keys"

    (partition / "part-00-first.parquet").write_bytes(b"not parquet")
    [violation] = packs.validate_table(S1, partition)
    assert violation.path == "table" and "unreadable" in violation.message

    with pytest.raises(FileNotFoundError):
        packs.validate_table(S1, tmp_path / "absent")


def test_violation_str() -> None:
    assert str(Violation("columns.a", "bad")) == "columns.a: bad"
    assert str(Violation("columns.a", "bad", 7)) == "columns.a: bad (7 rows)"
