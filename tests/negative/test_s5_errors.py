"""Every E3A_S5 code of spec 04 §1.5 provoked through a real `dbt build` of the S5 models
on the small world (E3A_S5_004 and _005 are reserved: S5 computes digests and never
compares them). The FAIL run report and the segment_state_runs row carry the code,
class F4, the code's `error_class_detail` label, the phase and the context; nothing
already published is overwritten."""
from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from seg3a.states.s5_egress import CODES, SPEC
from tests.e2e.conftest import s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_s3_s4 import BASELINE, baseline_digests, build
from tests.negative._state_failures import (
    assert_state_failed, assert_upstream_context, edit_yaml, failure_after, hook_report_after, private_contracts,
)

pytestmark = pytest.mark.e2e

S5_BASELINE = "s5_baseline"


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def finished(s1s2_session):
    """S0..S4 done, S5 not yet run."""
    baseline_digests(s1s2_session)
    return s1s2_session.restore(BASELINE)


@pytest.fixture
def egressed(s1s2_session):
    """S0..S5 done (built once per session on top of the S3/S4 baseline)."""
    project = s1s2_session
    if not (project.snapshots / S5_BASELINE).is_dir():
        baseline_digests(project)
        project.restore(BASELINE)
        result = build(project, "tag:s5")
        assert result.ok, result.output[-4000:]
        project.save(S5_BASELINE)
    return project.restore(S5_BASELINE)


# ----------------------------------------------------------------------------- helpers
# error_class_detail labels, as spec 04 §1.5 lists them.
LABELS = {
    "001": "PRECONDITION", "002": "CATALOGUE", "003": "DOMAIN", "004": "DIGEST", "005": "UNIVERSE_HASH",
    "006": "OUTPUT_SCHEMA", "007": "IMMUTABILITY", "008": "INFRASTRUCTURE",
}


def run_s5_expecting(project, number: str, phase: str, **context) -> dict:
    return assert_state_failed(project, build(project, "tag:s5"), "S5", CODES[number], phase, context,
                               detail=LABELS[number])


def materialise(project, relation: str, select: str | None = None) -> None:
    """Make an upstream relation (a table or a view) a plain table the test may edit,
    optionally rewritten from a query over itself; S5 alone is then rebuilt over it."""
    kind = project.sql("select table_type from information_schema.tables where table_schema = 'main' "
                       "and table_name = ?", [relation])[0][0]
    project.sql(f"create or replace table main.{relation}__edited as "
                f"{select or f'select * from main.{relation}'}")
    project.sql(f"drop {'view' if kind == 'VIEW' else 'table'} main.{relation}")
    project.sql(f"alter table main.{relation}__edited rename to {relation}")


def zone_alloc_part(project):
    return project.path("zone_alloc") / "part-00000.parquet"


def universe_hash_file(project):
    return project.path("zone_alloc_universe_hash")


def nothing_published(project) -> bool:
    return not zone_alloc_part(project).exists() and not universe_hash_file(project).exists()


def first_escalated_pair(project) -> tuple[int, str]:
    return project.sql("select merchant_id, legal_country_iso from main.s4_zone_counts "
                       "order by merchant_id, legal_country_iso, tzid limit 1")[0]


def first_triplet(project) -> tuple[int, str, str]:
    return project.sql("select merchant_id, legal_country_iso, tzid from main.s4_zone_counts "
                       "order by merchant_id, legal_country_iso, tzid limit 1")[0]


TRIPLET = "merchant_id = ? and legal_country_iso = ? and tzid = ?"


# ----------------------------------------------------------------------------- 001
def test_001_upstream_gate_not_pass(finished):
    path = finished.path("s0_gate_receipt_3A")
    receipt = json.loads(path.read_bytes())
    receipt["upstream_gates"]["segment_1B"]["status"] = "FAIL"
    path.write_text(json.dumps(receipt))
    run_s5_expecting(finished, "001", "s0_gate", component="S0_GATE", reason="upstream_gate_not_pass",
                     segment="1B", reported_status="FAIL")
    assert nothing_published(finished)


def test_001_policy_changed_after_sealing(finished):
    target = finished.override("day_effect_policy_v1")
    source = finished.path("day_effect_policy_v1")
    target.write_bytes(source.read_bytes().replace(b'"sigma_gamma":0.12', b'"sigma_gamma":0.13'))
    run_s5_expecting(finished, "001", "s0_gate", component="DAY_EFFECT_POLICY", logical_id="day_effect_policy_v1")
    assert nothing_published(finished)


def test_001_upstream_state_not_pass(finished):
    path = finished.path("s4_run_report_3A")
    report = json.loads(path.read_bytes())
    report.update(status="FAIL", error_code="E3A_S4_005_COUNT_CONSERVATION_BROKEN")
    path.write_text(json.dumps(report))
    run_s5_expecting(finished, "001", "s1_run_report", component="S4_ZONE_COUNTS", reason="upstream_state_not_pass",
                     state="S4", reported_status="FAIL")


@pytest.mark.parametrize("failed_state, failed_model", [
    ("S4", "s4_zone_counts"), ("S3", "s3_zone_shares"), ("S1", "s1_escalation_queue"), ("S0", "s0_gate_receipt_3A"),
])
def test_001_earlier_state_failed_in_the_same_invocation(failed_state, failed_model):
    """S5 skipped because an earlier state failed: E3A_S5_001 with the §1.1 item 5 reason
    `upstream_state_not_pass` for an upstream state that is not PASS."""
    failure = failure_after(SPEC, "zone_alloc", failed_state, failed_model)
    assert (failure.code, failure.phase) == (CODES["001"], "s1_run_report")
    assert failure.context["reason"] == "upstream_state_not_pass"
    # 04 §1.5: component ∈ {S0_GATE, …, S1_ESCALATION_QUEUE, S2_PRIORS, S3_ZONE_SHARES, S4_ZONE_COUNTS, …}
    assert_upstream_context(failure, failed_state, {"S0": "S0_GATE", "S1": "S1_ESCALATION_QUEUE",
                                                    "S3": "S3_ZONE_SHARES", "S4": "S4_ZONE_COUNTS"}[failed_state])


def test_001_hook_report_after_s4_failed(finished):
    report = hook_report_after(finished, "S5", "zone_alloc", "S4", "s4_zone_counts", CODES["001"])
    assert (report["status"], report["error_code"], report["error_class"]) == ("FAIL", CODES["001"], "F4")
    assert report["error_class_detail"] == LABELS["001"]
    assert (report["first_failure_phase"], report["error_context"]["reason"]) == ("s1_run_report",
                                                                                   "upstream_state_not_pass")
    # 04 §1.5 blocks, unknown values null; the digest rule is the spec's fixed one
    assert report["digests"]["zone_alloc_digest_rule"] == "mask_routing_universe_hash"
    assert {k: v for k, v in report["digests"].items() if k != "zone_alloc_digest_rule"} == dict.fromkeys(
        ("zone_alpha_digest", "theta_digest", "zone_floor_digest", "day_effect_digest", "zone_alloc_parquet_digest",
         "routing_universe_hash"))
    assert set(report["policy"]) >= {"prior_pack_id", "floor_policy_id", "mixture_policy_id", "day_effect_policy_id"}
    assert set(report["policy"].values()) == {None}
    assert (report["output"]["zone_alloc_path"], report["output"]["zone_alloc_universe_hash_path"]) == (None, None)


def test_001_input_column_missing(finished):
    materialise(finished, "s3_zone_shares", "select * exclude (tzid) from main.s3_zone_shares")
    run_s5_expecting(finished, "001", "s3_zone_shares", component="S3_ZONE_SHARES", reason="missing_columns",
                     missing_columns=["tzid"])


# ----------------------------------------------------------------------------- 002
def test_002_zone_alloc_path_without_seed_token(finished):
    contracts = private_contracts(finished, "zone-alloc-without-seed")

    def drop_seed(doc):
        for entry in doc["datasets"]:
            if entry["id"] == "zone_alloc":
                entry["path"] = entry["path"].replace("seed={seed}/", "")
                entry["partitioning"] = ["manifest_fingerprint"]
    edit_yaml(contracts / "dictionaries" / "dataset_dictionary.layer1.3A.yaml", drop_seed)
    run_s5_expecting(finished, "002", "zone_alloc_build", catalogue_id="dictionary_3A", dataset_id="zone_alloc")
    assert not universe_hash_file(finished).exists()


# ----------------------------------------------------------------------------- 003
def test_003_escalated_pair_missing_from_s4(finished):
    merchant, country = first_escalated_pair(finished)
    materialise(finished, "s4_zone_counts")
    finished.sql("delete from main.s4_zone_counts where merchant_id = ? and legal_country_iso = ?",
                 [merchant, country])
    report = run_s5_expecting(finished, "003", "s4_zone_counts", reason="pair_set_mismatch",
                              missing_escalated_pairs_count=1, unexpected_pairs_count=0,
                              sample_merchant_id=merchant, sample_country_iso=country)
    assert report["error_context"]["affected_zone_triplets_count"] == 0
    assert nothing_published(finished)


def test_003_s4_triplet_duplicated_beside_itself(finished):
    """A repeated triplet next to its twin (the rows otherwise in key order): the keys
    no longer strictly increase, so S5 groups them and finds the duplicate."""
    merchant, country, tzid = first_triplet(finished)
    materialise(finished, "s4_zone_counts",
                f"select * from (select * from main.s4_zone_counts union all select * from main.s4_zone_counts "
                f"where merchant_id = {merchant} and legal_country_iso = '{country}' and tzid = '{tzid}') "
                f"order by merchant_id, legal_country_iso, tzid")
    run_s5_expecting(finished, "003", "s4_zone_counts", reason="duplicate_key", s4_duplicate_triplets_count=1,
                     s1_duplicate_pairs_count=0, sample_merchant_id=merchant, sample_country_iso=country,
                     sample_tzid=tzid)
    assert nothing_published(finished)


def test_003_s1_pair_duplicated_at_the_end(finished):
    merchant, country = first_escalated_pair(finished)
    materialise(finished, "s1_escalation_queue")
    finished.sql("insert into main.s1_escalation_queue select * from main.s1_escalation_queue "
                 "where merchant_id = ? and legal_country_iso = ?", [merchant, country])
    run_s5_expecting(finished, "003", "s4_zone_counts", reason="duplicate_key", s1_duplicate_pairs_count=1,
                     s4_duplicate_triplets_count=0, sample_merchant_id=merchant, sample_country_iso=country)
    assert nothing_published(finished)


def test_003_zone_missing_from_a_pair(finished):
    triplet = first_triplet(finished)
    materialise(finished, "s4_zone_counts")
    finished.sql(f"delete from main.s4_zone_counts where {TRIPLET}", list(triplet))
    run_s5_expecting(finished, "003", "s4_zone_counts", reason="zone_domain_mismatch",
                     missing_escalated_pairs_count=0, unexpected_pairs_count=0, affected_zone_triplets_count=1)


def test_003_s4_tzid_outside_the_universe(finished):
    """A zone row whose tzid is not in Z(c) of its country (the pair keeps its zone
    count): counted once, and the sample names that row's tzid."""
    triplet = first_triplet(finished)
    materialise(finished, "s4_zone_counts")
    finished.sql(f"update main.s4_zone_counts set tzid = 'Mars/Olympus_Mons' where {TRIPLET}", list(triplet))
    run_s5_expecting(finished, "003", "s4_zone_counts", reason="zone_domain_mismatch",
                     missing_escalated_pairs_count=0, unexpected_pairs_count=0, affected_zone_triplets_count=1,
                     sample_merchant_id=triplet[0], sample_country_iso=triplet[1], sample_tzid="Mars/Olympus_Mons")


def test_003_s4_null_tzid_sampled_first(finished):
    """Two rows of one pair outside Z(c), one with a null tzid: both are counted, and the
    sample is the null one (the spec's sample order puts a null tzid first)."""
    merchant, country = first_escalated_pair(finished)
    tzids = [row[0] for row in finished.sql(
        "select tzid from main.s4_zone_counts where merchant_id = ? and legal_country_iso = ? order by tzid",
        [merchant, country])]
    assert len(tzids) >= 2
    materialise(finished, "s4_zone_counts")
    finished.sql(f"update main.s4_zone_counts set tzid = 'Mars/Olympus_Mons' where {TRIPLET}",
                 [merchant, country, tzids[0]])
    finished.sql(f"update main.s4_zone_counts set tzid = null where {TRIPLET}", [merchant, country, tzids[1]])
    run_s5_expecting(finished, "003", "s4_zone_counts", reason="zone_domain_mismatch",
                     missing_escalated_pairs_count=0, unexpected_pairs_count=0, affected_zone_triplets_count=2,
                     sample_merchant_id=merchant, sample_country_iso=country, sample_tzid=None)


def test_003_counts_not_conserved(finished):
    triplet = first_triplet(finished)
    merchant = triplet[0]
    materialise(finished, "s4_zone_counts")
    finished.sql(f"update main.s4_zone_counts set zone_site_count = zone_site_count + 1 where {TRIPLET}",
                 list(triplet))
    run_s5_expecting(finished, "003", "s4_zone_counts", reason="count_conservation",
                     pairs_count_conservation_violations=1, sample_merchant_id=merchant)


def test_003_s4_rows_carry_two_lineages(finished):
    """S4 writes its run constants on every row; S5 takes them once for the whole frame,
    so rows that disagree (one row naming another floor policy version) are refused,
    not published under the first row's lineage."""
    triplet = first_triplet(finished)
    materialise(finished, "s4_zone_counts")
    finished.sql(f"update main.s4_zone_counts set floor_policy_version = floor_policy_version || '.1' "
                 f"where {TRIPLET}", list(triplet))
    run_s5_expecting(finished, "003", "zone_alloc_build", reason="lineage_not_unique", lineages_count=2)
    assert nothing_published(finished)


# ----------------------------------------------------------------------------- 006
def test_006_zone_alloc_row_fails_its_schema(finished):
    materialise(finished, "s4_zone_counts", "select * replace ('' as prior_pack_version) from main.s4_zone_counts")
    run_s5_expecting(finished, "006", "zone_alloc_build", output_id="zone_alloc", example_field="prior_pack_version")
    assert nothing_published(finished)


# ----------------------------------------------------------------------------- 007
def test_007_zone_alloc_present_with_a_different_count(egressed):
    part = zone_alloc_part(egressed)
    table = pq.read_table(part)
    counts = table["zone_site_count"]
    changed = pc.if_else(pc.equal(pa.array(range(table.num_rows)), 0), pc.add(counts, 1), counts)
    pq.write_table(table.set_column(table.schema.get_field_index("zone_site_count"), "zone_site_count", changed),
                   part, compression="zstd")
    before = part.read_bytes()
    run_s5_expecting(egressed, "007", "zone_alloc_build", artefact="zone_alloc", difference_kind="field_value",
                     difference_count=2)
    assert part.read_bytes() == before


def test_007_zone_alloc_present_with_fewer_rows(egressed):
    part = zone_alloc_part(egressed)
    table = pq.read_table(part)
    pq.write_table(table.slice(1), part, compression="zstd")
    run_s5_expecting(egressed, "007", "zone_alloc_build", artefact="zone_alloc", difference_kind="row_set",
                     difference_count=1)


def test_007_universe_hash_present_with_different_bytes(egressed):
    path = universe_hash_file(egressed)
    doc = json.loads(path.read_bytes())
    doc["notes"] = "another note"
    doc["version"] = "0"
    path.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")))
    before = path.read_bytes()
    run_s5_expecting(egressed, "007", "zone_alloc_universe_hash", artefact="zone_alloc_universe_hash",
                     difference_kind="field_value", difference_count=2)
    assert path.read_bytes() == before


# ----------------------------------------------------------------------------- 008
def test_008_universe_hash_target_unwritable(finished):
    universe_hash_file(finished).mkdir(parents=True)  # a directory where the file belongs
    report = run_s5_expecting(finished, "008", "zone_alloc_universe_hash", operation="write")
    context = report["error_context"]
    assert context["phase"] == "zone_alloc_universe_hash" and context["detail"].startswith("IsADirectoryError")
    assert zone_alloc_part(finished).is_file()  # published first, as the spec orders
    shutil.rmtree(universe_hash_file(finished))
