"""S0 refuses upstream data that does not conform before anything is published
(spec 05 §1-§5, spec README "Egress attestation"): each broken world below is
re-sealed by its upstream (so the HashGates pass) unless the case is about attestation,
and S0 must fail with E3A_S0_001, the owner segment, the reason, and a context naming
the dataset, the column, the check and example keys."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from seg3a.states.s0_gate import S0Failure, run_s0
from seg3a.world.reseal import reseal_world
from tests.conftest import context_of
from tests.negative.test_s0_errors import s0_outputs

CODE = "E3A_S0_001_UPSTREAM_GATE_FAILED"


# ----------------------------------------------------------------------------- editing a world
def read(ctx, dataset_id: str) -> pa.Table:
    parts = sorted(ctx.path(dataset_id).glob("*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in parts])


def replace_rows(ctx, dataset_id: str, table: pa.Table) -> None:
    root = ctx.path(dataset_id)
    for part in root.glob("*.parquet"):
        part.unlink()
    pq.write_table(table, root / "part-00000.parquet", compression="zstd")


def first_pair(table: pa.Table):
    merchant, country = table["merchant_id"][0], table["legal_country_iso"][0]
    return pc.and_(pc.equal(table["merchant_id"], merchant), pc.equal(table["legal_country_iso"], country))


def with_value(table: pa.Table, column: str, mask, value) -> pa.Table:
    array = table[column]
    replaced = pc.if_else(mask, pa.scalar(value, type=array.type), array)
    return table.set_column(table.schema.get_field_index(column), column, replaced)


def edit_outlets(edit):
    return lambda ctx: replace_rows(ctx, "outlet_catalogue", edit(read(ctx, "outlet_catalogue")))


def edit_zones(edit):
    return lambda ctx: replace_rows(ctx, "site_timezones", edit(read(ctx, "site_timezones")))


def both(edit):
    """The same key edit on outlet_catalogue and site_timezones (so their key sets agree)."""
    def apply(ctx):
        edit_outlets(edit)(ctx)
        edit_zones(edit)(ctx)
    return apply


def retyped(column: str, arrow_type):
    def edit(table):
        return table.set_column(table.schema.get_field_index(column), column, table[column].cast(arrow_type))
    return edit


def duplicate_first_row(table):
    return pa.concat_tables([table.slice(0, 1), table])


def drop_last_row_of_first_pair(table):
    mask = first_pair(table).to_numpy(zero_copy_only=False)
    last = int(mask.nonzero()[0].max())
    return pa.concat_tables([table.slice(0, last), table.slice(last + 1)])


def site_order_gap(table):
    """The first pair's last site_order moved one up (site_id kept consistent)."""
    mask = first_pair(table).to_numpy(zero_copy_only=False)
    last = int(mask.nonzero()[0].max())
    order = table["site_order"].to_pylist()
    order[last] += 1
    table = table.set_column(table.schema.get_field_index("site_order"), "site_order",
                             pa.array(order, type=pa.int32()))
    if "site_id" not in table.column_names:
        return table
    site_id = table["site_id"].to_pylist()
    site_id[last] = f"{order[last]:06d}"
    return table.set_column(table.schema.get_field_index("site_id"), "site_id", pa.array(site_id))


def first_merchant(table):
    return pc.equal(table["merchant_id"], table["merchant_id"][0])


def home_differs_within_a_merchant(table):
    """One pair of a merchant with several pairs gets another home country."""
    pairs = table.group_by(["merchant_id", "legal_country_iso"]).aggregate([])
    counts = pairs.group_by("merchant_id").aggregate([([], "count_all")])
    merchant = counts.filter(pc.greater(counts["count_all"], 1))["merchant_id"][0]
    country = pairs.filter(pc.equal(pairs["merchant_id"], merchant))["legal_country_iso"][0]
    mask = pc.and_(pc.equal(table["merchant_id"], merchant), pc.equal(table["legal_country_iso"], country))
    home = table.filter(mask)["home_country_iso"][0].as_py()
    return with_value(table, "home_country_iso", mask, "FR" if home != "FR" else "DE")


def extra_data_file(ctx):
    (ctx.path("outlet_catalogue") / "_SUCCESS").write_bytes(b"")


def edit_legality_report(ctx):
    path = ctx.path("s4_legality_report")
    doc = json.loads(path.read_bytes())
    doc["seed"] = doc["seed"] + 1
    path.write_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


def edit_cache_manifest(ctx):
    path = ctx.path("tz_timetable_cache") / "tz_timetable_cache.json"
    doc = json.loads(path.read_bytes())
    doc["extra"] = 1
    path.write_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


# case: (edit, (dataset, check, column)) -- every case re-sealed by its upstream
VALIDATION_CASES = {
    # the findings 1-3
    "duplicated_outlet_row": (both(duplicate_first_row), ("outlet_catalogue", "primary_key", None)),
    "fingerprint_column_differs_from_path": (
        edit_outlets(lambda t: with_value(t, "manifest_fingerprint", first_pair(t), "0" * 64)),
        ("outlet_catalogue", "path_embed", "manifest_fingerprint")),
    "outlet_count_out_of_range": (
        edit_outlets(lambda t: with_value(t, "final_country_outlet_count", first_pair(t), 1_000_000)),
        ("outlet_catalogue", "maximum", "final_country_outlet_count")),
    "merchant_id_zero": (both(lambda t: with_value(t, "merchant_id", first_pair(t), 0)),
                         ("outlet_catalogue", "minimum", "merchant_id")),
    "lower_case_country": (both(lambda t: with_value(t, "legal_country_iso", first_pair(t), "us")),
                           ("outlet_catalogue", "pattern", "legal_country_iso")),
    # 05 §1 "FK to iso3166", §10.1: well-formed codes that are no ISO country (XK is left out of the table)
    "unknown_legal_country": (both(lambda t: with_value(t, "legal_country_iso", first_pair(t), "ZZ")),
                              ("outlet_catalogue", "foreign_key", "legal_country_iso")),
    "unknown_home_country": (edit_outlets(lambda t: with_value(t, "home_country_iso", first_merchant(t), "XK")),
                             ("outlet_catalogue", "foreign_key", "home_country_iso")),
    # more of 05 §1
    "global_seed_differs_from_path": (edit_outlets(lambda t: with_value(t, "global_seed", first_pair(t), 7)),
                                      ("outlet_catalogue", "path_embed", "global_seed")),
    "dropped_outlet_row": (both(drop_last_row_of_first_pair),
                           ("outlet_catalogue", "rows_per_pair", "final_country_outlet_count")),
    "site_order_gap": (both(site_order_gap), ("outlet_catalogue", "site_order_sequence", "site_order")),
    "site_id_not_padded_order": (edit_outlets(lambda t: with_value(t, "site_id", first_pair(t), "999999")),
                                 ("outlet_catalogue", "site_id_format", "site_id")),
    "null_home_country": (edit_outlets(lambda t: with_value(t, "home_country_iso", first_pair(t), None)),
                          ("outlet_catalogue", "null", "home_country_iso")),
    "site_order_as_int64": (edit_outlets(retyped("site_order", pa.int64())),
                            ("outlet_catalogue", "type", "site_order")),
    "extra_column": (edit_outlets(lambda t: t.append_column("note", pa.array(["x"] * t.num_rows))),
                     ("outlet_catalogue", "columns", None)),
    "extra_file_in_the_data_folder": (extra_data_file, ("outlet_catalogue", "data_folder", None)),
    "merchant_total_differs": (
        edit_outlets(lambda t: with_value(t, "raw_nb_outlet_draw", first_merchant(t), 999_999)),
        ("outlet_catalogue", "merchant_total", "raw_nb_outlet_draw")),
    "home_country_differs_within_a_merchant": (edit_outlets(home_differs_within_a_merchant),
                                               ("outlet_catalogue", "merchant_constant", None)),
    # 05 §2-§4
    "tzid_source_not_in_enum": (edit_zones(lambda t: with_value(t, "tzid_source", first_pair(t), "gps")),
                                ("site_timezones", "enum", "tzid_source")),
    "site_timezones_seed_differs": (edit_zones(lambda t: with_value(t, "seed", first_pair(t), 7)),
                                    ("site_timezones", "path_embed", "seed")),
    "site_timezones_row_missing": (edit_zones(drop_last_row_of_first_pair), ("site_timezones", "key_set", None)),
    "legality_report_seed_differs": (edit_legality_report, ("s4_legality_report", "path_embed", "seed")),
    "cache_manifest_extra_field": (edit_cache_manifest, ("tz_timetable_cache", "schema", None)),
}


@pytest.mark.parametrize("case", sorted(VALIDATION_CASES))
def test_s0_refuses_invalid_upstream_data(world_copy, case):
    edit, (dataset, check, column) = VALIDATION_CASES[case]
    ctx = context_of(world_copy)
    edit(ctx)
    reseal_world(ctx.path, ctx.tokens.seed)
    failure = expect_refusal(world_copy)
    context = failure.context
    assert (context["reason"], context["dataset"], context["check"]) == ("egress_invalid", dataset, check), context
    if column is not None:
        assert context["column"] == column
    assert context["upstream_segment"] == ("1A" if dataset == "outlet_catalogue" else "2A")
    assert context["violation_count"] >= 1 and context["example_keys"], context
    assert dataset in str(failure) and check in str(failure)


def test_duplicated_row_names_its_key(world_copy):
    ctx = context_of(world_copy)
    table = read(ctx, "outlet_catalogue")
    both(duplicate_first_row)(ctx)
    reseal_world(ctx.path, ctx.tokens.seed)
    failure = expect_refusal(world_copy)
    example = failure.context["example_keys"][0]
    assert (example["merchant_id"], example["legal_country_iso"], example["site_order"]) == (
        table["merchant_id"][0].as_py(), table["legal_country_iso"][0].as_py(), table["site_order"][0].as_py())
    assert example["row_count"] == 2


# ----------------------------------------------------------------------------- attestation
def move_first_pair_to_another_country(ctx):
    """Finding 4: a valid edit (the pair moves to another valid country) without re-sealing."""
    def edit(table):
        other = next(c for c in ("FR", "DE", "JP", "BR") if c != table["legal_country_iso"][0].as_py())
        return with_value(table, "legal_country_iso", first_pair(table), other)
    both(edit)(ctx)


def unattested_file(ctx):
    pq.write_table(read(ctx, "outlet_catalogue").slice(0, 0), ctx.path("outlet_catalogue") / "part-00001.parquet")


def wrong_composite(ctx):
    path = ctx.path("validation_bundle_1A") / "egress_checksums.json"
    doc = json.loads(path.read_bytes())
    doc["composite_sha256_hex"] = "0" * 64
    path.write_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
    reseal_flag_only(ctx)


def reseal_flag_only(ctx):
    from seg3a.core.hashgate import composite_digest, flag_bytes

    bundle = ctx.path("validation_bundle_1A")
    index = json.loads((bundle / "index.json").read_bytes())
    (bundle / "_passed.flag").write_bytes(flag_bytes(composite_digest(bundle, [r["path"] for r in index])))


def cache_manifest_edited(ctx):
    path = ctx.path("tz_timetable_cache") / "tz_timetable_cache.json"
    path.write_bytes(path.read_bytes().replace(b'"tzdb_release_tag":"2026c"', b'"tzdb_release_tag":"2026b"'))


ATTESTATION_CASES = {
    "pair_moved_to_another_country": (move_first_pair_to_another_country, "outlet_catalogue", "file_digest"),
    "unattested_extra_file": (unattested_file, "outlet_catalogue", "file_list"),
    "composite_wrong": (wrong_composite, "outlet_catalogue", "composite"),
    "cache_manifest_edited": (cache_manifest_edited, "tz_timetable_cache", "file_digest"),
}


@pytest.mark.parametrize("case", sorted(ATTESTATION_CASES))
def test_s0_refuses_bytes_its_upstream_does_not_attest(world_copy, case):
    edit, dataset, check = ATTESTATION_CASES[case]
    ctx = context_of(world_copy)
    edit(ctx)
    failure = expect_refusal(world_copy)
    assert (failure.context["reason"], failure.context["dataset"], failure.context["check"]) == (
        "egress_unattested", dataset, check), failure.context
    assert failure.context["upstream_segment"] == ("1A" if dataset == "outlet_catalogue" else "2A")


def test_missing_egress_checksums_is_unattested(world_copy):
    ctx = context_of(world_copy)
    bundle = ctx.path("validation_bundle_1A")
    index = [r for r in json.loads((bundle / "index.json").read_bytes()) if r["path"] != "egress_checksums.json"]
    (bundle / "index.json").write_text(json.dumps(index))
    (bundle / "egress_checksums.json").unlink()
    reseal_flag_only(ctx)
    failure = expect_refusal(world_copy)
    assert (failure.context["reason"], failure.context["check"]) == ("egress_unattested", "egress_checksums")


def test_resealed_but_unchanged_world_passes(world_copy):
    ctx = context_of(world_copy)
    before = {p: p.read_bytes() for p in Path(world_copy, "data/layer1").rglob("*") if p.is_file()}
    reseal_world(ctx.path, ctx.tokens.seed)
    after = {p: p.read_bytes() for p in Path(world_copy, "data/layer1").rglob("*") if p.is_file()}
    assert after == before  # the reseal helper reproduces the generator's bundles byte for byte
    run_s0(ctx)


def expect_refusal(run_root: Path) -> S0Failure:
    with pytest.raises(S0Failure) as info:
        run_s0(context_of(run_root))
    failure = info.value
    assert failure.code == CODE, f"got {failure.code}: {failure}"
    assert s0_outputs(run_root) == []
    return failure


def test_an_unknown_country_names_its_rows(world_copy):
    ctx = context_of(world_copy)
    table = read(ctx, "outlet_catalogue")
    mask = first_pair(table)
    both(lambda t: with_value(t, "legal_country_iso", first_pair(t), "ZZ"))(ctx)
    reseal_world(ctx.path, ctx.tokens.seed)
    failure = expect_refusal(world_copy)
    assert failure.context["violation_count"] == pc.sum(mask.cast("int64")).as_py()
    assert {e["legal_country_iso"] for e in failure.context["example_keys"]} == {"ZZ"}
    assert "iso3166_canonical_2024" in str(failure)


def test_an_unreadable_iso_table_stops_s0_before_it_publishes(world_copy):
    """S0 reads the sealed iso3166 table for the country lookup: bytes that are no Parquet
    are an infrastructure failure (E3A_S0_010, operation read), never a pass."""
    ctx = context_of(world_copy)
    original = ctx.path("iso3166_canonical_2024")
    shadow = ctx.run_root / "reference" / ctx.catalogue_path("iso3166_canonical_2024")
    shadow.parent.mkdir(parents=True, exist_ok=True)
    shadow.write_bytes(b"this is not a parquet file\n")
    sidecar = original.with_name(f"{original.stem}.manifest.json")
    shutil.copyfile(sidecar, shadow.with_name(sidecar.name))
    with pytest.raises(S0Failure) as info:
        run_s0(context_of(world_copy))
    assert info.value.code == "E3A_S0_010_INFRASTRUCTURE_IO_ERROR", str(info.value)
    assert info.value.context["operation"] == "read"
    assert s0_outputs(world_copy) == []


# ----------------------------------------------------------------------------- key order
# S0 proves the primary key unique by one streaming pass over the key columns in file
# order (strictly increasing => unique) and groups only when that order is broken. The
# refusal must be the same either way: these cases put a duplicate where the streaming
# pass has to carry the previous key across a boundary, or break the order so that only
# the grouped count can judge.
def reversed_rows(table):
    return table.take(pa.array(range(table.num_rows - 1, -1, -1)))


def replace_rows_in_files(ctx, dataset_id: str, tables: list[pa.Table]) -> None:
    root = ctx.path(dataset_id)
    for part in root.glob("*.parquet"):
        part.unlink()
    for number, table in enumerate(tables):
        pq.write_table(table, root / f"part-{number:05d}.parquet", compression="zstd")


def row_key(table: pa.Table, index: int) -> tuple:
    return tuple(table[c][index].as_py() for c in ("merchant_id", "legal_country_iso", "site_order"))


def test_unique_keys_out_of_file_order_pass(world_copy):
    ctx = context_of(world_copy)
    both(reversed_rows)(ctx)
    reseal_world(ctx.path, ctx.tokens.seed)
    run_s0(ctx)


def assert_refused_for_one_repeated_key(world_copy, ctx, key: tuple) -> None:
    """After resealing, S0 refuses the catalogue's primary key: one violation, `key` held
    by two rows."""
    reseal_world(ctx.path, ctx.tokens.seed)
    context = expect_refusal(world_copy).context
    assert (context["dataset"], context["check"], context["violation_count"]) == ("outlet_catalogue", "primary_key", 1)
    [example] = context["example_keys"]
    assert key == (example["merchant_id"], example["legal_country_iso"], example["site_order"])
    assert example["row_count"] == 2


def test_a_duplicate_among_unordered_keys_is_refused_with_its_key(world_copy):
    ctx = context_of(world_copy)
    table = read(ctx, "outlet_catalogue")
    middle = table.num_rows // 2
    both(lambda t: pa.concat_tables([reversed_rows(t), t.slice(middle, 1)]))(ctx)
    assert_refused_for_one_repeated_key(world_copy, ctx, row_key(table, middle))


BOUNDARY_ROWS = 1000  # the streaming pass's batch size in the batch case


@pytest.mark.parametrize("boundary", ["file", "batch"])
def test_a_duplicate_across_a_boundary_of_sorted_keys_is_refused(world_copy, monkeypatch, boundary):
    """Sorted keys with one row repeated right after itself, the two copies on either
    side of a file boundary (two data files) or of a batch boundary of the streaming pass
    (one file, batches of BOUNDARY_ROWS rows): the pass must compare the last key of one
    file or batch with the first of the next."""
    from seg3a.states import s3_tables

    monkeypatch.setattr(s3_tables, "KEY_BATCH_ROWS", BOUNDARY_ROWS)
    ctx = context_of(world_copy)
    table = read(ctx, "outlet_catalogue")
    last_before = BOUNDARY_ROWS - 1 if boundary == "batch" else table.num_rows // 3
    assert table.num_rows > BOUNDARY_ROWS + 1
    for dataset in ("outlet_catalogue", "site_timezones"):
        rows = read(ctx, dataset)
        head, tail = rows.slice(0, last_before + 1), rows.slice(last_before)
        replace_rows_in_files(ctx, dataset, [head, tail] if boundary == "file" else [pa.concat_tables([head, tail])])
    assert_refused_for_one_repeated_key(world_copy, ctx, row_key(table, last_before))


# ----------------------------------------------------------------------------- patterns
# Patterns are tested on a column's distinct values first (rows are counted only when
# one fails), and a column equal to its path token only where it differs: the refusal
# still counts every failing row and shows the first ones by key.
PATTERN_CASES = {
    "outlet_country": ("outlet_catalogue", "legal_country_iso", "us", both),
    "site_timezones_tzid": ("site_timezones", "tzid", "Not a zone!", edit_zones),
    "outlet_fingerprint_not_hex": ("outlet_catalogue", "manifest_fingerprint", "X" * 64, edit_outlets),
}


@pytest.mark.parametrize("case", sorted(PATTERN_CASES))
def test_a_pattern_violation_counts_every_failing_row(world_copy, case):
    dataset, column, value, edit = PATTERN_CASES[case]
    ctx = context_of(world_copy)
    failing_rows = pc.sum(first_pair(read(ctx, dataset)).cast("int64")).as_py()
    edit(lambda t: with_value(t, column, first_pair(t), value))(ctx)
    reseal_world(ctx.path, ctx.tokens.seed)
    failure = expect_refusal(world_copy)
    context = failure.context
    assert (context["dataset"], context["check"], context["column"]) == (dataset, "pattern", column), context
    assert context["violation_count"] == failing_rows > 1
    assert {e[column] for e in context["example_keys"]} == {value}
    assert len(context["example_keys"]) == min(3, failing_rows)
