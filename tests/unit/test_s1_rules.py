"""S1 decision rules on hand-built inputs, expected values worked out here: the
smoothing band P_s (spec 02 §3.3), first-match rule precedence, the smoothing and
theta_mix hash steps (§6.1 step 8, through the real `int_s1__pairs_decided` model run
by dbt on hand-built upstream tables), the §3.1 runtime checks, the compensated sum
macro against csum, and how a failed dbt node becomes a state's error code."""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pyarrow as pa
import pytest
import yaml

from python_udfs.csum import csum
from seg3a.states.common import NodeOutcome, failure_of_state, parse_failure
from seg3a.states.s1_escalation import POLICY_SCHEMA, SPEC, policy_row, replay_decisions, runtime_issues
from seg3a.states.s1_escalation import smoothing_probability
from seg3a.core.yaml_io import DuplicateKeyError
from seg3a.states.s2_priors import load_string_keys
from tests.e2e.conftest import PROJECT_ROOT, run_dbt

H = "a" * 64
POLICY = {
    "policy_id": "zone_mixture_policy_3A",
    "version": "v1.0.0",
    "theta_mix": 0.35,
    "s1_smoothing": {
        "enabled": True, "zone_count_min": 5, "zone_count_max": 16, "zone_escalation_prob_min": 0.08,
        "zone_escalation_prob_max": 0.5, "site_count_slope": 0.2, "site_count_cap": 0.22,
    },
    "rules": [
        {"metric": "site_count_lt", "threshold": 3, "decision_reason": "below_min_sites", "bucket": "tiny"},
        {"metric": "zone_count_country_le", "threshold": 1, "decision_reason": "forced_monolithic", "bucket": "mono"},
        {"metric": "zone_count_country_ge", "threshold": 4, "decision_reason": "forced_escalation", "bucket": "wide"},
        {"metric": "site_count_ge", "threshold": 35, "decision_reason": "forced_escalation"},
    ],
}


def macro_expression(name: str, *args: str) -> str:
    """A project macro rendered as dbt would render it (plain Jinja, no dbt context)."""
    source = (PROJECT_ROOT / "macros" / f"{name}.sql").read_text()
    call = "{{ " + name + "(" + ", ".join(repr(a) for a in args) + ") }}"
    return jinja2.Environment().from_string(source + call).render().strip()


def uniform(label: str, merchant_id: int, country: str) -> float:
    digest = hashlib.sha256(f"{label}|{merchant_id}|{country}|{H}".encode()).digest()
    return (float(int.from_bytes(digest[:8], "big")) + 0.5) / 2.0**64


# --------------------------------------------------------------------------- P_s
SMOOTHING_CASES = [
    # (k, n, P_s by hand: zone_prob + site_term, clamped)
    (4, 1, 0.0),                                   # below zone_count_min
    (4, 50, 0.0),
    (5, 1, 0.08 + 0.0 / 11 * 0.42 + 0.0),          # 0.08
    (5, 2, 0.08 + 0.0 / 11 * 0.42 + 0.2),          # 0.28
    (8, 2, 0.08 + 3.0 / 11 * 0.42 + 0.2),          # 0.394545...
    (16, 1, 0.08 + 11.0 / 11 * 0.42 + 0.0),        # 0.5
    (30, 2, 0.08 + 11.0 / 11 * 0.42 + 0.2),        # 0.7: k capped at zone_count_max
    (16, 5, 0.08 + 11.0 / 11 * 0.42 + 0.22),       # 0.72: site term capped
]


def smoothing_table() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    band = POLICY["s1_smoothing"]
    conn.execute("create table mixture_policy as select true as smoothing_enabled, "
                 f"{band['zone_count_min']} as zone_count_min, {band['zone_count_max']} as zone_count_max, "
                 f"{band['zone_escalation_prob_min']}::double as zone_escalation_prob_min, "
                 f"{band['zone_escalation_prob_max']}::double as zone_escalation_prob_max, "
                 f"{band['site_count_slope']}::double as site_count_slope, "
                 f"{band['site_count_cap']}::double as site_count_cap")
    conn.execute("create table pairs (k bigint, n bigint)")
    conn.executemany("insert into pairs values (?, ?)", [(k, n) for k, n, _ in SMOOTHING_CASES])
    return conn


def test_smoothing_band_matches_the_hand_values_and_the_spec_examples():
    conn = smoothing_table()
    expression = macro_expression("seg3a_s1_smoothing_probability", "pairs.k", "pairs.n", "mixture_policy")
    got = conn.execute(f"select {expression} from pairs cross join mixture_policy").fetchall()
    assert [row[0] for row in got] == [p for _, _, p in SMOOTHING_CASES]
    spec_examples = {(5, 1): 0.08, (5, 2): 0.28, (8, 2): 0.394545, (16, 1): 0.5, (30, 2): 0.7, (4, 1): 0.0}
    for (k, n), value in spec_examples.items():
        assert dict(((k_, n_), p) for k_, n_, p in SMOOTHING_CASES)[(k, n)] == pytest.approx(value, abs=1e-6)


def test_smoothing_band_of_the_replay_is_bit_identical_to_sql():
    policy = policy_row(POLICY, H)
    k = np.array([c[0] for c in SMOOTHING_CASES])
    n = np.array([c[1] for c in SMOOTHING_CASES])
    assert smoothing_probability(k, n, policy).tolist() == [p for _, _, p in SMOOTHING_CASES]


def test_disabled_smoothing_gives_zero():
    policy = policy_row({**POLICY, "s1_smoothing": {**POLICY["s1_smoothing"], "enabled": False}}, H)
    assert smoothing_probability(np.array([8, 30]), np.array([2, 2]), policy).tolist() == [0.0, 0.0]


# --------------------------------------------------------------------------- the ladder through dbt
COUNTRY_ZONES = {"AA": 1, "BB": 2, "CC": 4, "DD": 8, "EE": 30, "FF": 5}


def first_merchant(label: str, country: str, below: float, wanted: bool, start: int) -> int:
    """The first merchant id >= start whose uniform is (or is not) below `below`."""
    m = start
    while (uniform(label, m, country) < below) != wanted:
        m += 1
    return m


def hand_built_pairs() -> list[tuple[int, str, int, str, str | None]]:
    """(merchant_id, country, site_count, expected reason, expected bucket)."""
    p_dd = 0.08 + 3.0 / 11 * 0.42 + 0.2   # P_s(8, 2)
    p_ee = 0.08 + 11.0 / 11 * 0.42 + 0.0  # P_s(30, 1)
    smooth_in = first_merchant("3A.S1.smooth_band", "DD", p_dd, True, 100)
    smooth_out = first_merchant("3A.S1.smooth_band", "DD", p_dd, False, 200)
    smooth_ee = first_merchant("3A.S1.smooth_band", "EE", p_ee, False, 300)
    theta_in = first_merchant("3A.S1.theta_mix", "BB", 0.35, True, 400)
    theta_out = first_merchant("3A.S1.theta_mix", "BB", 0.35, False, 500)
    return [
        (1, "AA", 2, "below_min_sites", "tiny"),          # rule 1 before rule 2; P_s(1, 2) = 0
        (2, "AA", 40, "forced_monolithic", "mono"),       # rule 2 before rule 4
        (3, "CC", 40, "forced_escalation", "wide"),       # rule 3 before rule 4
        (4, "BB", 40, "forced_escalation", None),         # rule 4, no bucket
        (5, "BB", 35, "forced_escalation", None),         # site_count_ge is inclusive
        (6, "CC", 3, "forced_escalation", "wide"),        # site_count_lt 3 is strict
        (7, "FF", 1, "below_min_sites" if uniform("3A.S1.smooth_band", 7, "FF") >= 0.08 else "default_escalation",
         "tiny" if uniform("3A.S1.smooth_band", 7, "FF") >= 0.08 else "s1_smooth_band"),
        (smooth_in, "DD", 2, "default_escalation", "s1_smooth_band"),
        (smooth_out, "DD", 2, "below_min_sites", "tiny"),
        (smooth_ee, "EE", 1, "below_min_sites", "tiny"),
        (theta_in, "BB", 34, "default_escalation", None),
        (theta_out, "BB", 3, "legacy_default", None),
    ]


def hand_built_database(path: Path, pairs) -> None:
    conn = duckdb.connect(str(path))
    try:
        conn.register("policy_arrow", pa.Table.from_pylist([policy_row(POLICY, "b" * 64)], schema=POLICY_SCHEMA))
        conn.execute("create table int_s1__mixture_policy_validated as select * from policy_arrow")
        conn.execute("create table int_s1__inputs_verified as select 42::ubigint as seed, ? as parameter_hash, "
                     "? as manifest_fingerprint, 'run' as run_id, 'outlet_catalogue' as logical_id", [H, "c" * 64])
        conn.execute("create table int_s1__site_counts_aggregated "
                     "(merchant_id ubigint, legal_country_iso varchar, site_count bigint)")
        conn.executemany("insert into int_s1__site_counts_aggregated values (?, ?, ?)",
                         [(m, c, n) for m, c, n, _, _ in pairs])
        conn.execute("create table int_s1__country_zones_checked (country_iso varchar, zone_count_country bigint)")
        conn.executemany("insert into int_s1__country_zones_checked values (?, ?)", list(COUNTRY_ZONES.items()))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def decided(tmp_path_factory) -> tuple[list, pa.Table]:
    work = tmp_path_factory.mktemp("s1_rules")
    pairs = hand_built_pairs()
    database = work / "rules" / "seg3a.duckdb"  # the usual name: the fork server's parse is shared
    database.parent.mkdir()
    hand_built_database(database, pairs)
    (work / "runs").mkdir()
    result = run_dbt(["run", "--select", "int_s1__pairs_decided"], work / "runs", database, work)
    assert result.ok, result.output[-4000:]
    conn = duckdb.connect(str(database), read_only=True)
    try:
        table = conn.execute("select * from int_s1__pairs_decided order by merchant_id, legal_country_iso").to_arrow_table()
    finally:
        conn.close()
    return pairs, table


def test_first_match_ladder_smoothing_and_theta_mix(decided):
    pairs, table = decided
    got = {(r["merchant_id"], r["legal_country_iso"]): (r["decision_reason"], r["dominant_zone_share_bucket"])
           for r in table.to_pylist()}
    assert got == {(m, c): (reason, bucket) for m, c, _, reason, bucket in pairs}
    for row in table.to_pylist():
        assert row["is_escalated"] == (row["decision_reason"] in ("forced_escalation", "default_escalation"))
        assert row["eligible_for_escalation"] == (row["decision_reason"] not in ("forced_monolithic", "below_min_sites"))
        assert row["smooth_band_escalated"] == (row["dominant_zone_share_bucket"] == "s1_smooth_band")


def test_hash_uniforms_are_drawn_only_where_a_step_needs_them(decided):
    _, table = decided
    for row in table.to_pylist():
        needs_theta = row["rule_rank"] is None
        needs_band = row["decision_reason"] in ("below_min_sites",) or row["smooth_band_escalated"]
        assert (row["theta_mix_u"] is not None) == needs_theta
        if row["theta_mix_u"] is not None:
            assert row["theta_mix_u"] == uniform("3A.S1.theta_mix", row["merchant_id"], row["legal_country_iso"])
        if needs_band and row["smooth_band_probability"] > 0:
            assert row["smooth_band_u"] == uniform("3A.S1.smooth_band", row["merchant_id"], row["legal_country_iso"])
        else:
            assert row["smooth_band_u"] is None


def test_python_replay_agrees_with_the_sql_decisions(decided):
    _, table = decided
    reason, bucket = replay_decisions(table, policy_row(POLICY, H), H)
    assert reason.tolist() == table["decision_reason"].to_pylist()
    assert bucket.tolist() == table["dominant_zone_share_bucket"].to_pylist()


# --------------------------------------------------------------------------- runtime checks
def policy_with(**changes) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(POLICY))
    doc.update(changes)
    return doc


@pytest.mark.parametrize("changes, issue", [
    ({"theta_mix": 0.05}, "theta_mix 0.05 outside [0.10, 0.70]"),
    ({"theta_mix": 0.71}, "theta_mix 0.71 outside [0.10, 0.70]"),
    ({"version": "TBD"}, "version 'TBD' is a placeholder"),
    ({"version": "v{semver}"}, "version 'v{semver}' is a placeholder"),
    ({"rules": POLICY["rules"][1:]}, "no site_count_lt rule"),
    ({"rules": [{**POLICY["rules"][0], "threshold": 11}, *POLICY["rules"][1:]]}, "site_count_lt threshold 11 outside [2, 10]"),
    ({"rules": [POLICY["rules"][0], {**POLICY["rules"][1], "threshold": 2}, *POLICY["rules"][2:]]},
     "no zone_count_country_le rule with threshold exactly 1"),
    ({"rules": [*POLICY["rules"][:2], {**POLICY["rules"][2], "threshold": 13}, POLICY["rules"][3]]},
     "zone_count_country_ge threshold 13 outside [3, 12]"),
    ({"rules": [*POLICY["rules"][:3], {**POLICY["rules"][3], "threshold": 201}]}, "site_count_ge threshold 201 outside [20, 200]"),
    ({"rules": [*POLICY["rules"][:2], {**POLICY["rules"][2], "decision_reason": "default_escalation"},
                {**POLICY["rules"][3], "decision_reason": "legacy_default"}]},
     "no forced_escalation rule on site_count_ge or zone_count_country_ge"),
    ({"s1_smoothing": {**POLICY["s1_smoothing"], "zone_count_min": 16}}, "s1_smoothing.zone_count_min must be < zone_count_max"),
    ({"s1_smoothing": {**POLICY["s1_smoothing"], "zone_escalation_prob_min": 0.6}},
     "s1_smoothing.zone_escalation_prob_min must be <= zone_escalation_prob_max"),
    ({"s1_smoothing": {**POLICY["s1_smoothing"], "site_count_slope": 0.3}}, "s1_smoothing.site_count_slope must be <= site_count_cap"),
])
def test_each_runtime_check(changes, issue):
    assert runtime_issues(policy_with(**changes)) == [issue]


def test_the_current_policy_passes_every_runtime_check():
    assert runtime_issues(POLICY) == []
    committed = yaml.safe_load((PROJECT_ROOT / "config/layer1/3A/policy/zone_mixture_policy.yaml").read_bytes())
    assert runtime_issues(committed) == []


# --------------------------------------------------------------------------- csum
def test_csum_macro_equals_csum_on_random_vectors():
    expression = macro_expression("seg3a_csum", "list(x order by i)")
    rng = np.random.default_rng(20260101)
    groups, positions, values, expected = [], [], [], {}
    for group in range(4000):
        n = int(rng.integers(1, 64))
        kind = group % 4
        if kind == 0:
            vector = rng.random(n) * 100
        elif kind == 1:
            vector = rng.random(n) * 10.0 ** rng.integers(-12, 12, n)
        elif kind == 2:
            vector = rng.normal(size=n) * 10.0 ** rng.integers(-6, 16, n)
        else:
            vector = np.full(n, 0.1)
        groups += [group] * n
        positions += list(range(n))
        values += vector.tolist()
        expected[group] = csum(vector.tolist())
    conn = duckdb.connect()
    conn.register("t", pa.table({"g": groups, "i": positions, "x": values}))
    got = dict(conn.execute(f"select g, {expression} from t group by g").fetchall())
    assert got == expected
    # DuckDB's own compensated aggregates are not csum, which is why the macro exists.
    fsum = dict(conn.execute("select g, fsum(x order by i) from t group by g").fetchall())
    assert any(fsum[g] != expected[g] for g in expected)


@pytest.mark.parametrize("vector, total", [
    ([0.1] * 10, 1.0),
    ([1e30, 1.0, 2.0**-53, 2.0**-80, -1e30], 1.0),
    ([1.0, 1e100, 1.0, -1e100], 2.0),
    ([], 0.0),
    ([1e308, 1e308], math.inf),
])
def test_csum_macro_special_cases(vector, total):
    expression = macro_expression("seg3a_csum", "v")
    got = duckdb.connect().execute(f"select {expression} from (select ?::double[] as v)", [vector]).fetchone()[0]
    assert got == total == csum(vector)


# --------------------------------------------------------------------------- YAML keys
def test_policy_keys_stay_strings():
    doc = load_string_keys(b"countries:\n  NO: {a: 1}\n  'ON': {a: 2}\n  YES: {a: true}\n")
    assert list(doc["countries"]) == ["NO", "ON", "YES"]
    assert doc["countries"]["YES"]["a"] is True
    with pytest.raises(DuplicateKeyError):
        load_string_keys(b"countries:\n  NO: 1\n  NO: 2\n")


# --------------------------------------------------------------------------- failed nodes -> codes
def node(name: str, status: str, message: str = "", tags: tuple = ("s1",), phase: str | None = None, order: int = 0):
    return NodeOutcome.from_payload(
        {"name": name, "status": status, "message": message, "tags": ["segment3a", *tags], "phase": phase}, order)


def test_a_coded_sql_error_gives_its_code_phase_and_context():
    message = ('Runtime Error in model int_s1__country_zones_checked\n  Invalid Input Error: '
               'E3A_S1_006_ZONE_STRUCTURE_INCONSISTENT: legal country ZZ is not in iso3166 | phase=zone_structure '
               '| context={"country_iso":"ZZ","reason":"unknown_country"}')
    failure = parse_failure(SPEC, node("int_s1__country_zones_checked", "error", message))
    assert (failure.code, failure.error_class, failure.phase) == (
        "E3A_S1_006_ZONE_STRUCTURE_INCONSISTENT", "ZONE_STRUCTURE", "zone_structure")
    assert failure.context == {"country_iso": "ZZ", "reason": "unknown_country"}


def test_the_earliest_phase_wins_and_a_contract_failure_is_output_schema():
    nodes = [
        node("s1_escalation_queue", "error", "Constraint Error: CHECK constraint failed: CHECK((merchant_id >= 1))",
             phase="decision_eval", order=0),
        node("int_s1__mixture_policy_validated", "error", "E3A_S1_005_POLICY_SCHEMA_INVALID: bad | phase=policy_load",
             phase="policy_load", order=1),
    ]
    assert failure_of_state(SPEC, nodes).code == "E3A_S1_005_POLICY_SCHEMA_INVALID"
    contract = failure_of_state(SPEC, nodes[:1])
    assert (contract.code, contract.context["example_field"]) == ("E3A_S1_010_OUTPUT_SCHEMA_INVALID", "merchant_id")


def test_skipped_states_take_their_gate_code_or_the_catch_all():
    s0 = node("s0_gate_receipt_3A", "error", "E3A_S0_001_UPSTREAM_GATE_FAILED: HashGate 1A", tags=("s0",))
    skipped = node("int_s1__inputs_verified", "skipped", "SKIP", order=1)
    gate = failure_of_state(SPEC, [s0, skipped])
    assert (gate.code, gate.context["reason"]) == ("E3A_S1_001_S0_GATE_MISSING_OR_INVALID", "missing_gate_receipt")
    staging = node("stg_ref__iso3166", "error", "IO Error: not a parquet file", tags=("staging",))
    other = failure_of_state(SPEC, [staging, skipped])
    assert (other.code, other.context["io_error_class"]) == ("E3A_S1_013_INFRASTRUCTURE_IO_ERROR", "upstream_model_failed")
    assert failure_of_state(SPEC, [staging]) is None
