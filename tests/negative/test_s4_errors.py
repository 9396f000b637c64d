"""Every E3A_S4 code of spec 03 §4.4 provoked by a broken input: through a real `dbt
build` of the S4 models on the small world after a passing S0..S4 build, except
E3A_S4_005, which the share checks make unreachable from stored data (shares within
1e-12 of summing to 1 and N < 2^32 keep R in [0, K]); its guard model is run on crafted
count rows through the real model SQL instead. Each FAIL run report carries the code's
`error_class_detail` label of §4.4 and the §4.5 `policy` block (null ids)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import jinja2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from seg3a.states.s4_integerise import CODES, SPEC
from tests.e2e.conftest import PROJECT_ROOT, edit_json, s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_s3_s4 import BASELINE, baseline_digests, build
from tests.negative._state_failures import (
    assert_state_failed, assert_upstream_context, edit_yaml, failure_after, hook_report_after, private_contracts,
)

pytestmark = pytest.mark.e2e

GUARD_MODEL = PROJECT_ROOT / "models/segment3a/s4_integerise/int_s4__integerisation_checked.sql"


# ----------------------------------------------------------------------------- helpers
@pytest.fixture
def finished(s1s2_session):
    """S0..S4 done: the S3/S4 baseline."""
    baseline_digests(s1s2_session)
    return s1s2_session.restore(BASELINE)


# error_class_detail labels, as spec 03 §4.4 gives them in brackets.
LABELS = {
    "001": "PRECONDITION", "002": "CATALOGUE", "003": "DOMAIN_S1", "004": "DOMAIN_ZONES",
    "005": "COUNT_CONSERVATION", "006": "OUTPUT_SCHEMA", "007": "OUTPUT_INCONSISTENT", "008": "IMMUTABILITY",
    "009": "INFRASTRUCTURE",
}
# 03 §4.5: `policy` is the four lineage ids, null when the FAIL cannot know them.
FAIL_BLOCKS = {
    "policy": {"prior_pack_id": None, "prior_pack_version": None, "floor_policy_id": None,
               "floor_policy_version": None},
}


def run_s4_expecting(project, number: str, phase: str, **context) -> dict:
    return assert_state_failed(project, build(project, "tag:s4"), "S4", CODES[number], phase, context,
                               detail=LABELS[number], blocks=FAIL_BLOCKS)


def as_table(project, name: str) -> None:
    """Make a view of the built project a table with the same rows, so a test can
    change them (S4 reads it by name either way)."""
    (kind,) = project.sql("select table_type from information_schema.tables "
                          "where table_schema = 'main' and table_name = ?", [name])[0]
    if kind == "VIEW":
        project.sql(f"create table main.{name}__rows as select * from main.{name}")
        project.sql(f"drop view main.{name}")
        project.sql(f"alter table main.{name}__rows rename to {name}")


def replace_table(project, table: str, select: str) -> None:
    as_table(project, table)
    project.sql(f"create or replace table main.{table}_tampered as {select}")
    project.sql(f"drop table main.{table}")
    project.sql(f"alter table main.{table}_tampered rename to {table}")


def multi_zone_pair(project) -> tuple[int, str]:
    as_table(project, "s3_zone_shares")
    rows = project.sql("select merchant_id, legal_country_iso from main.s3_zone_shares "
                       "group by merchant_id, legal_country_iso having count(*) >= 2 "
                       "order by merchant_id, legal_country_iso limit 1")
    return rows[0]


def counts_partition(project) -> Path:
    return project.path("s4_zone_counts") / "part-00000.parquet"


# ----------------------------------------------------------------------------- 001
def test_001_s3_run_report_not_pass(finished):
    edit_json(finished.path("s3_run_report_3A"), lambda report: report.update(status="FAIL"))
    run_s4_expecting(finished, "001", "s1_run_report", reason="upstream_state_not_pass", state="S3",
                     reported_status="FAIL")


# 03 §4.4: the reasons of E3A_S4_001; §4.1 item 2: an upstream state not PASS is
# `upstream_state_not_pass`.
REASONS_001 = {"missing", "schema_invalid", "upstream_gate_not_pass", "upstream_state_not_pass"}


@pytest.mark.parametrize("failed_state, failed_model", [
    ("S3", "s3_zone_shares"), ("S2", "s2_country_zone_priors"), ("S1", "s1_escalation_queue"),
    ("S0", "s0_gate_receipt_3A"),
])
def test_001_earlier_state_failed_in_the_same_invocation(failed_state, failed_model):
    """S4 skipped because an earlier state failed: E3A_S4_001 with the §4.1 item 2 reason
    `upstream_state_not_pass`, a reason of the §4.4 list."""
    failure = failure_after(SPEC, "s4_zone_counts", failed_state, failed_model)
    assert (failure.code, failure.phase) == (CODES["001"], "s1_run_report")
    assert failure.context["reason"] == "upstream_state_not_pass"
    assert failure.context["reason"] in REASONS_001
    # 03 §4.4: component ∈ {S0_GATE, S0_SEALED_INPUTS, S1_ESCALATION_QUEUE, S2_PRIORS, S3_ZONE_SHARES}
    assert_upstream_context(failure, failed_state, {"S0": "S0_GATE", "S1": "S1_ESCALATION_QUEUE", "S2": "S2_PRIORS",
                                                    "S3": "S3_ZONE_SHARES"}[failed_state])


def test_001_hook_report_after_s3_failed(finished):
    report = hook_report_after(finished, "S4", "s4_zone_counts", "S3", "s3_zone_shares", CODES["001"])
    assert (report["status"], report["error_code"], report["error_class"]) == ("FAIL", CODES["001"], "F4")
    assert report["error_class_detail"] == LABELS["001"]
    assert (report["first_failure_phase"], report["error_context"]["reason"]) == ("s1_run_report",
                                                                                   "upstream_state_not_pass")
    assert report["policy"] == FAIL_BLOCKS["policy"]


def test_001_s3_shares_schema_invalid(finished):
    replace_table(finished, "s3_zone_shares",
                  "select * replace ('3A.S9' as rng_module) from main.s3_zone_shares")
    run_s4_expecting(finished, "001", "s3_zone_shares", component="S3_ZONE_SHARES", reason="schema_invalid",
                     example_field="rng_module")


# ----------------------------------------------------------------------------- 002
def test_002_output_path_without_seed_token(finished):
    contracts = private_contracts(finished, "counts-without-seed")

    def drop_seed(doc):
        for entry in doc["datasets"]:
            if entry["id"] == "s4_zone_counts":
                entry["path"] = entry["path"].replace("seed={seed}/", "")
    edit_yaml(contracts / "dictionaries" / "dataset_dictionary.layer1.3A.yaml", drop_seed)
    run_s4_expecting(finished, "002", "integerisation", dataset_id="s4_zone_counts")


# ----------------------------------------------------------------------------- 003 / 004
def test_003_escalated_pair_missing_from_the_shares(finished):
    merchant, country = multi_zone_pair(finished)
    finished.sql("delete from main.s3_zone_shares where merchant_id = ? and legal_country_iso = ?", [merchant, country])
    report = run_s4_expecting(finished, "003", "s3_zone_shares", reason="pair_set_mismatch",
                              missing_escalated_pairs_count=1, unexpected_pairs_count=0)
    assert report["error_context"]["sample_missing_pairs"] == [{"merchant_id": merchant, "legal_country_iso": country}]


def test_004_duplicate_share_row(finished):
    merchant, country = multi_zone_pair(finished)
    replace_table(finished, "s3_zone_shares",
                  "select * from main.s3_zone_shares union all (select * from main.s3_zone_shares "
                  f"where merchant_id = {merchant} and legal_country_iso = '{country}' order by tzid limit 1)")
    report = run_s4_expecting(finished, "004", "s3_zone_shares", reason="duplicate_share_rows")
    assert report["error_context"]["sample_key"]["merchant_id"] == merchant


def test_004_zone_missing_from_a_pair(finished):
    merchant, country = multi_zone_pair(finished)
    finished.sql("delete from main.s3_zone_shares where (merchant_id, legal_country_iso, tzid) = ("
                 "select (merchant_id, legal_country_iso, max(tzid)) from main.s3_zone_shares "
                 "where merchant_id = ? and legal_country_iso = ? group by merchant_id, legal_country_iso)",
                 [merchant, country])
    run_s4_expecting(finished, "004", "s3_zone_shares", reason="zone_set_mismatch",
                     sample_pairs=[{"merchant_id": merchant, "legal_country_iso": country}])


def test_004_zone_replaced_by_a_foreign_tzid(finished):
    """A pair keeps its zone count but one of its tzids is not in Z(c) of S2."""
    merchant, country = multi_zone_pair(finished)
    finished.sql("update main.s3_zone_shares set tzid = 'Mars/Olympus_Mons' "
                 "where (merchant_id, legal_country_iso, tzid) = ("
                 "select (merchant_id, legal_country_iso, max(tzid)) from main.s3_zone_shares "
                 "where merchant_id = ? and legal_country_iso = ? group by merchant_id, legal_country_iso)",
                 [merchant, country])
    run_s4_expecting(finished, "004", "s3_zone_shares", reason="zone_set_mismatch", affected_pairs_count=1,
                     sample_pairs=[{"merchant_id": merchant, "legal_country_iso": country}])


# ----------------------------------------------------------------------------- 005 (guard SQL)
def run_guard(rows: list[dict]) -> None:
    """The integerisation guard model's SQL over crafted s4_zone_counts rows."""
    sql = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(GUARD_MODEL.read_text()).render(
        config=lambda **_: "", ref=lambda _name: "counts")
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("merchant_id", pa.uint64()), ("legal_country_iso", pa.string()), ("zone_site_count", pa.int64()),
        ("zone_site_count_sum", pa.int64()), ("fractional_target", pa.float64()),
    ]))
    con = duckdb.connect()
    try:
        con.register("counts", table)
        con.execute(sql).fetchall()
    finally:
        con.close()


def pair_rows(targets, counts, site_count=5):
    return [{"merchant_id": 7, "legal_country_iso": "ZZ", "zone_site_count": c, "zone_site_count_sum": site_count,
             "fractional_target": t} for t, c in zip(targets, counts)]


def test_005_remainder_outside_zero_to_k_fails_the_guard():
    # Targets summing to 3 of N = 5 (shares summing to 0.6) leave R = 3 > K = 2.
    with pytest.raises(duckdb.Error, match=r"E3A_S4_005_COUNT_CONSERVATION_BROKEN.*remainder_invalid"):
        run_guard(pair_rows([1.5, 1.5], [2, 2]))


def test_005_counts_not_summing_to_n_fail_the_guard():
    with pytest.raises(duckdb.Error, match=r"E3A_S4_005_COUNT_CONSERVATION_BROKEN.*count_not_conserved"):
        run_guard(pair_rows([2.5, 2.5], [3, 3]))


def test_guard_passes_a_sound_pair():
    run_guard(pair_rows([2.5, 2.5], [3, 2]))
    run_guard(pair_rows([0.0, 5.0], [0, 5]))


# ----------------------------------------------------------------------------- 006 - 009
def test_006_rows_fail_the_output_table_schema(finished):
    contracts = private_contracts(finished, "counts-capped")

    def cap(doc):
        for column in doc["plan"]["s4_zone_counts"]["columns"]:
            if column["name"] == "zone_site_count":
                column["maximum"] = 0
    edit_yaml(contracts / "schemas" / "schemas.3A.yaml", cap)
    run_s4_expecting(finished, "006", "integerisation", example_field="zone_site_count")


def test_007_shares_lineage_differs_from_the_priors(finished):
    as_table(finished, "s3_zone_shares")
    finished.sql("update main.s3_zone_shares set prior_pack_version = 'v9.9.9'")
    run_s4_expecting(finished, "007", "s3_zone_shares", reason="lineage_inconsistent", field="prior_pack_version")


def test_007_share_sum_inconsistent(finished):
    merchant, country = multi_zone_pair(finished)
    finished.sql("update main.s3_zone_shares set share_sum_country = share_sum_country + 1e-9 "
                 "where merchant_id = ? and legal_country_iso = ?", [merchant, country])
    run_s4_expecting(finished, "007", "s3_zone_shares", reason="share_sum_inconsistent", affected_pairs_count=1)


def test_008_tampered_existing_partition_is_not_overwritten(finished):
    part = counts_partition(finished)
    table = pq.read_table(part)
    counts = table.column("zone_site_count").to_numpy().copy()
    counts[0] += 1
    pq.write_table(table.set_column(table.schema.get_field_index("zone_site_count"), "zone_site_count",
                                    pa.array(counts)), part, compression="zstd")
    tampered = part.read_bytes()
    run_s4_expecting(finished, "008", "integerisation")
    assert part.read_bytes() == tampered


def test_009_output_location_unusable(finished):
    dataset_root = finished.run_root / "data/layer1/3A/s4_zone_counts"
    shutil.rmtree(dataset_root)
    dataset_root.write_text("not a directory\n")
    result = build(finished, "tag:s4")
    assert not result.ok
    report = finished.report("S4")
    assert (report["status"], report["error_code"], report["first_failure_phase"]) == (
        "FAIL", CODES["009"], "integerisation")


def test_every_s4_code_is_provoked():
    provoked = {name.split("_")[1] for name in globals() if re.fullmatch(r"test_\d{3}_.*", name)}
    assert provoked == set(CODES)
