"""S3 and S4 end to end with the real dbt on the small world: a green build S0 -> S4,
bit-exact replay of every share from the event log, the exact line format of the RNG
logs, the S4 invariants, an idempotent byte-identical rerun, and invariance of every
published byte under batch size, merchant shards and thread count.

Builds start from the `built` snapshot of the session project (S0..S2 done, see
conftest.py); S3 and S4 with default settings are built once and saved as the
`s3s4_baseline` snapshot, which the S4 negative tests also start from."""
from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from python_udfs.plugin import UDF_REGISTRY
from python_udfs.rng import Dispersion, dirichlet_batch
from seg3a.core.identity import git_commit_bytes
from seg3a.core.paths import project_root
from seg3a.core.schemas import SchemaPacks
from seg3a.states.s3_concentration import SiteCountConcentration
from seg3a.states.s4_integerise import COUNT_RUN_CONSTANTS
from tests.e2e.conftest import Seg3aProject, s1s2_session  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

BASELINE = "s3s4_baseline"
S3_S4 = ("--select", "tag:s3", "tag:s4")
OUTPUT_IDS = ("s3_zone_shares", "s4_zone_counts")
LOG_IDS = ("rng_event_zone_dirichlet", "rng_trace_log", "rng_audit_log")
_ENGINE_COMMIT: list[str] = []


# ----------------------------------------------------------------------------- building
@contextmanager
def environment(**values: str):
    """Temporarily set environment variables for the dbt subprocesses."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def engine_commit() -> str:
    """One engine commit for the whole session (ENGINE_GIT_COMMIT), so the audit rows of
    all builds agree even if the checkout gets a new commit while the tests run."""
    if not _ENGINE_COMMIT:
        _ENGINE_COMMIT.append(git_commit_bytes(project_root()).hex())
    return _ENGINE_COMMIT[0]


def build(project: Seg3aProject, *select: str, threads: int | None = None, batch_pairs: int | None = None,
          shard_count: int | None = None):
    """`dbt build` of the selected models (default: S3 and S4), optionally with the S3
    chunking knobs (the models' defaults otherwise)."""
    knobs = {"SEG3A_S3_BATCH_PAIRS": batch_pairs, "SEG3A_S3_SHARD_COUNT": shard_count}
    with environment(ENGINE_GIT_COMMIT=engine_commit(), **{k: str(v) for k, v in knobs.items() if v is not None}):
        return project.dbt("build", "--select", *(select or S3_S4[1:]), "--exclude", "tag:zone_universe",
                           threads=threads)


def output_files(project: Seg3aProject) -> dict[str, Path]:
    """Every file S3 and S4 publish, by a stable name."""
    files = {dataset_id: project.path(dataset_id) / "part-00000.parquet" for dataset_id in OUTPUT_IDS}
    files["rng_event_zone_dirichlet"] = project.path("rng_event_zone_dirichlet").parent / "part-00000.jsonl"
    files["rng_trace_log"] = project.path("rng_trace_log")
    files["rng_audit_log"] = project.path("rng_audit_log")
    return files


def digests(project: Seg3aProject) -> dict[str, str]:
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in output_files(project).items()}


def baseline_digests(project: Seg3aProject) -> dict[str, str]:
    """Build S3 + S4 on the `built` snapshot once per session and save the result."""
    marker = project.snapshots / BASELINE / "digests.json"
    if not marker.is_file():
        project.restore("built")
        result = build(project)
        assert result.ok, result.output[-4000:]
        found = digests(project)
        project.save(BASELINE)
        marker.write_text(json.dumps(found, sort_keys=True))
    return json.loads(marker.read_text())


@pytest.fixture
def s3s4(s1s2_session) -> Seg3aProject:
    """The small world after a passing S0..S4 build (restored per test)."""
    baseline_digests(s1s2_session)
    return s1s2_session.restore(BASELINE)


# ----------------------------------------------------------------------------- readers
def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def escalated_pairs(project: Seg3aProject) -> list[tuple[int, str]]:
    return project.sql("select merchant_id, legal_country_iso from s1_escalation_queue where is_escalated "
                       "order by merchant_id, legal_country_iso")


def dispersion_of(project: Seg3aProject) -> Dispersion:
    policy = yaml.safe_load(project.path("zone_mixture_policy").read_bytes())
    return Dispersion.from_mapping(policy.get("s3_dispersion"))


def site_count_factors(project: Seg3aProject) -> dict[tuple[int, str], float]:
    """Each escalated pair's site-count factor g(n) under the sealed policy's knob."""
    policy = yaml.safe_load(project.path("zone_mixture_policy").read_bytes())
    knob = SiteCountConcentration.from_dispersion(policy.get("s3_dispersion"))
    rows = project.sql("select merchant_id, legal_country_iso, site_count from s1_escalation_queue where is_escalated")
    factors = knob.factor([n for _, _, n in rows]).tolist()
    return {(m, c): g for (m, c, _), g in zip(rows, factors)}


def country_alphas(project: Seg3aProject) -> dict[str, list[float]]:
    """S2 alpha_effective per country in ascending tzid order, from the published partition."""
    by_country: dict[str, list[tuple[str, float]]] = {}
    for row in pq.read_table(project.path("s2_country_zone_priors")).to_pylist():
        by_country.setdefault(row["country_iso"], []).append((row["tzid"], row["alpha_effective"]))
    return {c: [a for _, a in sorted(zones)] for c, zones in by_country.items()}


# ----------------------------------------------------------------------------- green build
def test_full_build_s0_to_s4_is_green_and_matches_the_baseline(s1s2_session):
    expected = baseline_digests(s1s2_session)
    project = s1s2_session.restore("pristine")
    result = build(project, "+s4_run_report_3A")
    assert result.ok, result.output[-4000:]
    assert digests(project) == expected
    for state in ("S3", "S4"):
        assert project.report(state)["status"] == "PASS"


def test_published_tables_follow_their_contracts(s3s4):
    packs = SchemaPacks.load(s3s4.ctx.catalogue.root)
    for dataset_id in OUTPUT_IDS:
        path = s3s4.path(dataset_id)
        assert [p.name for p in path.iterdir()] == ["part-00000.parquet"]
        assert packs.validate_table(s3s4.ctx.catalogue.entry(dataset_id)["schema_ref"], path) == []
        assert pq.ParquetFile(path / "part-00000.parquet").metadata.row_group(0).column(0).compression == "ZSTD"


def test_shares_cover_exactly_the_escalated_pairs_and_zones(s3s4):
    alphas = country_alphas(s3s4)
    pairs = escalated_pairs(s3s4)
    assert pairs, "the small world must escalate some pairs"
    per_pair: dict[tuple, list[dict]] = {}
    for row in pq.read_table(s3s4.path("s3_zone_shares")).to_pylist():
        per_pair.setdefault((row["merchant_id"], row["legal_country_iso"]), []).append(row)
    assert sorted(per_pair) == pairs
    for (_, country), rows in per_pair.items():
        assert len(rows) == len(alphas[country])
        assert len({r["share_sum_country"] for r in rows}) == 1
        assert abs(rows[0]["share_sum_country"] - 1.0) <= 1e-12
        assert all(0.0 <= r["share_drawn"] <= 1.0 for r in rows)


# ----------------------------------------------------------------------------- replay
def test_every_share_replays_bit_for_bit_from_the_event_log(s3s4):
    files = output_files(s3s4)
    tokens = s3s4.ctx.tokens
    events = jsonl(files["rng_event_zone_dirichlet"])
    alphas = country_alphas(s3s4)
    factors = site_count_factors(s3s4)
    lengths = [len(alphas[e["country_iso"]]) for e in events]
    # S3 hands the sampler the S2 shapes times the pair's site-count factor.
    scaled = [a * factors[(e["merchant_id"], e["country_iso"])] for e in events for a in alphas[e["country_iso"]]]
    replay = dirichlet_batch(
        tokens.manifest_fingerprint, tokens.seed, [e["merchant_id"] for e in events],
        [e["country_iso"] for e in events], scaled,
        np.concatenate(([0], np.cumsum(lengths))), dispersion_of(s3s4), tokens.parameter_hash,
    )
    shares = pq.read_table(files["s3_zone_shares"]).to_pylist()
    assert [(r["merchant_id"], r["legal_country_iso"]) for r in shares] == [
        (e["merchant_id"], e["country_iso"]) for e, k in zip(events, lengths) for _ in range(k)]
    assert [r["share_drawn"] for r in shares] == replay.shares.tolist()
    assert [r["alpha_sum_country"] for r in shares] == np.repeat(replay.alpha_sum, lengths).tolist()
    assert [r["rng_stream_id"] for r in shares] == np.repeat(replay.rng_stream_id, lengths).tolist()
    for i, event in enumerate(events):
        assert (event["rng_counter_before_hi"], event["rng_counter_before_lo"],
                event["rng_counter_after_hi"], event["rng_counter_after_lo"]) == (
            int(replay.counter_before_hi[i]), int(replay.counter_before_lo[i]),
            int(replay.counter_after_hi[i]), int(replay.counter_after_lo[i]))
        assert (event["blocks"], event["draws"], event["zone_count"]) == (
            int(replay.blocks[i]), str(int(replay.draws[i])), int(replay.zone_count[i]))
        assert (event["alpha_sum_country"], event["alpha_min"], event["alpha_max"]) == (
            replay.alpha_sum[i], replay.alpha_min[i], replay.alpha_max[i])
        assert event["rng_stream_id"] == replay.rng_stream_id[i]


def test_logs_have_the_exact_line_format_and_consistent_totals(s3s4):
    files = output_files(s3s4)
    ctx = s3s4.ctx
    packs = SchemaPacks.load(ctx.catalogue.root)
    for log_id in LOG_IDS:
        anchor = ctx.catalogue.entry(log_id)["schema_ref"]
        text = files[log_id].read_text()
        assert text.endswith("\n")
        for line in text.splitlines():
            record = json.loads(line)
            assert json.dumps(record, sort_keys=True, ensure_ascii=True) == line
            assert packs.validate_json(anchor, record) == []
            assert record["ts_utc"] == ctx.receipt.created_utc
    events, trace = jsonl(files["rng_event_zone_dirichlet"]), jsonl(files["rng_trace_log"])
    assert [(e["merchant_id"], e["country_iso"]) for e in events] == escalated_pairs(s3s4)
    assert len(trace) == len(events)
    blocks = draws = 0
    for n, (event, row) in enumerate(zip(events, trace), start=1):
        blocks, draws = blocks + event["blocks"], draws + int(event["draws"])
        assert (row["events_total"], row["blocks_total"], row["draws_total"]) == (n, blocks, draws)
        assert all(row[k] == event[k] for k in ("rng_counter_before_hi", "rng_counter_before_lo",
                                                "rng_counter_after_hi", "rng_counter_after_lo"))
        assert int(event["draws"]) - event["blocks"] >= event["zone_count"]
        assert event["blocks"] >= 2 * event["zone_count"]
    (audit,) = jsonl(files["rng_audit_log"])
    assert (audit["algorithm"], audit["build_commit"], audit["code_digest"], audit["hostname"],
            audit["platform"], audit["notes"]) == ("philox2x64-10", engine_commit(), None, None, None, None)
    assert s3s4.report("S3")["rng_totals"] == {"events": len(events), "blocks": blocks, "draws": draws}


# ----------------------------------------------------------------------------- S4
def test_zone_counts_satisfy_the_s4_invariants(s3s4):
    counts = pq.read_table(s3s4.path("s4_zone_counts")).to_pylist()
    shares = {(r["merchant_id"], r["legal_country_iso"], r["tzid"]): r["share_drawn"]
              for r in pq.read_table(s3s4.path("s3_zone_shares")).to_pylist()}
    assert list(shares) == [(r["merchant_id"], r["legal_country_iso"], r["tzid"]) for r in counts]
    per_pair: dict[tuple, list[dict]] = {}
    for row in counts:
        per_pair.setdefault((row["merchant_id"], row["legal_country_iso"]), []).append(row)
        key = (row["merchant_id"], row["legal_country_iso"], row["tzid"])
        assert row["fractional_target"] == float(row["zone_site_count_sum"]) * shares[key]
    for rows in per_pair.values():
        n = rows[0]["zone_site_count_sum"]
        assert sum(r["zone_site_count"] for r in rows) == n
        remainder = n - sum(int(np.floor(r["fractional_target"])) for r in rows)
        assert sorted(r["residual_rank"] for r in rows) == list(range(1, len(rows) + 1))
        for r in rows:
            floor = int(np.floor(r["fractional_target"]))
            assert r["zone_site_count"] == floor + (1 if r["residual_rank"] <= remainder else 0)
    counters = s3s4.report("S4")["counts"]
    assert counters["zone_rows_total"] == len(counts)
    assert counters["pairs_count_conserved"] == len(per_pair) == counters["pairs_escalated"]
    assert counters["pairs_count_conservation_violations"] == 0
    assert counters["zones_zero_allocated"] == sum(r["zone_site_count"] == 0 for r in counts)


def test_s4_run_constants_hold_one_value_in_the_published_counts(s3s4):
    # The checked write repeats these columns instead of streaming them from DuckDB; a
    # name that is not a column, or a column that varies, would send every build down
    # the slower path that streams all columns (or fail it): each holds one value.
    counts = pq.read_table(s3s4.path("s4_zone_counts"))
    assert counts.num_rows > 0
    assert set(COUNT_RUN_CONSTANTS) <= set(counts.column_names)
    for name in COUNT_RUN_CONSTANTS:
        assert len(set(counts.column(name).to_pylist())) == 1, name
    assert counts.column("seed")[0].as_py() == s3s4.ctx.tokens.seed


# ----------------------------------------------------------------------------- idempotence
def test_rerun_is_byte_identical_and_writes_no_log_lines(s3s4):
    before = digests(s3s4)
    result = build(s3s4)
    assert result.ok, result.output[-4000:]
    assert digests(s3s4) == before
    assert s3s4.sql("select rng_log_mode, audit_row_written from rng_audit_log") == [("replay", False)]
    assert s3s4.sql("select lines_written from rng_event_zone_dirichlet") == [(0,)]
    counts = s3s4.report("S3")["counts"]
    assert counts["rng_trace_rows"] == counts["rng_events"] > 0


# ----------------------------------------------------------------------------- order independence
@pytest.mark.parametrize(
    ("threads", "batch_pairs", "shard_count"),
    [(1, 1, None), (2, 7, 3), (1, None, 2), (2, 16384, None)],
    ids=["threads1-batch1", "threads2-batch7-shards3", "threads1-shards2", "threads2-batch16384"],
)
def test_outputs_do_not_depend_on_batches_shards_or_threads(s1s2_session, threads, batch_pairs, shard_count):
    expected = baseline_digests(s1s2_session)
    project = s1s2_session.restore("built")
    result = build(project, threads=threads, batch_pairs=batch_pairs, shard_count=shard_count)
    assert result.ok, result.output[-4000:]
    assert digests(project) == expected


def test_udf_on_disjoint_merchant_halves_equals_the_whole(s3s4):
    """The draw UDF on each half of D_esc, on a fresh connection, gives exactly the
    published shares of the whole run."""
    tokens = s3s4.ctx.tokens
    policy = dispersion_of(s3s4)
    (udf,) = [u for u in UDF_REGISTRY if u.name == "s3a_dirichlet_draw"]
    knobs = ", ".join(str(v).lower() if isinstance(v, bool) else repr(v) for v in (
        policy.enabled, policy.concentration_scale, policy.alpha_temperature, policy.merchant_jitter,
        policy.merchant_jitter_clip, policy.alpha_floor))
    draw = (f"s3a_dirichlet_draw(pairs, '{tokens.manifest_fingerprint}', "
            f"{tokens.seed}::ubigint, '{tokens.parameter_hash}', {knobs})")
    pairs = """
        select queue.merchant_id, queue.legal_country_iso,
               list(priors.tzid order by priors.tzid) as tzids,
               list(priors.alpha_effective * factors.factor order by priors.tzid) as alphas
        from built.s1_escalation_queue as queue
        inner join built.s2_country_zone_priors as priors on queue.legal_country_iso = priors.country_iso
        inner join factors using (merchant_id, legal_country_iso)
        where queue.is_escalated
        group by queue.merchant_id, queue.legal_country_iso
    """
    factors = site_count_factors(s3s4)
    con = duckdb.connect()
    try:
        # The site-count factor of each pair, as S3 applies it to the S2 shapes.
        con.register("factors", pa.table({"merchant_id": pa.array([m for m, _ in factors], pa.uint64()),
                                          "legal_country_iso": [c for _, c in factors],
                                          "factor": list(factors.values())}))
        con.create_function(udf.name, udf.function, udf.parameters, udf.return_type, type="arrow",
                            side_effects=udf.side_effects, null_handling="special")
        con.execute(f"attach '{s3s4.database}' as built (read_only)")
        middle = con.execute(f"select median(merchant_id) from ({pairs})").fetchone()[0]
        halves = []
        for condition in (f"merchant_id <= {middle}", f"merchant_id > {middle}"):
            # Chunks of 3 pairs, taken in descending merchant order within the half.
            chunks = f"""
                select list({{'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso,
                              'alphas': alphas}} order by position) as pairs
                from (select *, row_number() over (order by merchant_id desc, legal_country_iso) as position
                      from ({pairs}) where {condition})
                group by (position - 1) // 3
            """
            halves += con.execute(f"""
                select drawn.merchant_id, drawn.legal_country_iso, unnest(tzids), unnest(drawn.shares)
                from (select unnest({draw}) as drawn from ({chunks})) as draws
                inner join (select legal_country_iso, any_value(tzids) as tzids from ({pairs}) group by all) as zones
                    on draws.drawn.legal_country_iso = zones.legal_country_iso
            """).fetchall()
    finally:
        con.close()
    published = pq.read_table(s3s4.path("s3_zone_shares")).to_pylist()
    assert len(halves) == len(published) > 0
    assert sorted(halves) == [(r["merchant_id"], r["legal_country_iso"], r["tzid"], r["share_drawn"]) for r in published]


def test_publisher_bytes_do_not_depend_on_stored_order_or_batch_size(tmp_path):
    """The part file written from a relation stored out of key order (the sorted
    fallback) and from one in key order, read in batches of any size, is the same."""
    from seg3a.states import s3_publish, s3_tables

    schema = pa.schema([("merchant_id", pa.uint64(), False), ("legal_country_iso", pa.string(), False),
                        ("tzid", pa.string(), False), ("share_drawn", pa.float64(), False)])
    con = duckdb.connect()
    try:
        con.execute("create table rows_in_order as select (i // 3 + 1)::ubigint as merchant_id, "
                    "case when i % 2 = 0 then 'AA' else 'AB' end as legal_country_iso, "
                    "'Zone/' || lpad((i % 3)::varchar, 2, '0') as tzid, i / 7.0 as share_drawn "
                    "from range(10000) t(i) order by merchant_id, legal_country_iso, tzid")
        con.execute("create table rows_shuffled as select * from rows_in_order order by hash(merchant_id, tzid)")
        key = ["merchant_id", "legal_country_iso", "tzid"]
        digests = set()
        for table, batch_rows, group_rows in (("rows_in_order", 997, 4096), ("rows_shuffled", 4096, 4096),
                                              ("rows_in_order", 10000, 4096)):
            path = tmp_path / f"{table}-{batch_rows}.parquet"
            s3_publish.ROW_GROUP_ROWS, saved = group_rows, s3_publish.ROW_GROUP_ROWS
            try:
                rows = s3_tables.stream_in_key_order(con.table(table), key, s3_publish._write_part(path, schema),
                                                     batch_rows)
            finally:
                s3_publish.ROW_GROUP_ROWS = saved
            assert rows == 10000
            digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
            assert pq.ParquetFile(path).metadata.num_row_groups == 3
        assert len(digests) == 1
    finally:
        con.close()


def test_key_stream_reports_a_duplicate_key_from_any_stored_order():
    from seg3a.states.s3_tables import DuplicateKey, stream_in_key_order

    con = duckdb.connect()
    try:
        for order in ("i", "-i"):
            rows = con.sql(f"select (i // 2)::ubigint as merchant_id, 'AA' as legal_country_iso from range(9) t(i) "
                           f"where i <> 3 order by {order}")
            with pytest.raises(DuplicateKey) as raised:
                stream_in_key_order(rows, ["merchant_id", "legal_country_iso"], lambda batches: sum(1 for _ in batches), 2)
            assert raised.value.key_value == (0, "AA")
    finally:
        con.close()


def test_no_escalated_pairs_gives_empty_outputs_and_an_audit_row(s1s2_session):
    """README decision: with D_esc empty S3 still writes its audit row and zero-line event
    and trace files; shares and counts are published empty; a rerun changes nothing."""
    project = s1s2_session.restore("built")
    project.sql("update main.s1_escalation_queue set is_escalated = false")
    result = build(project)
    assert result.ok, result.output[-4000:]
    files = output_files(project)
    assert files["rng_event_zone_dirichlet"].read_bytes() == b"" and files["rng_trace_log"].read_bytes() == b""
    assert len(jsonl(files["rng_audit_log"])) == 1
    for dataset_id in OUTPUT_IDS:
        assert pq.read_metadata(files[dataset_id]).num_rows == 0
    s3 = project.report("S3")
    assert (s3["status"], s3["counts"]["pairs_escalated"], s3["zone_count_buckets"]) == ("PASS", 0, {})
    assert s3["rng_totals"] == {"events": 0, "draws": 0, "blocks": 0}
    assert project.report("S4")["counts"]["zones_per_pair_avg"] == 0.0
    before = digests(project)
    rerun = build(project)
    assert rerun.ok, rerun.output[-4000:]
    assert digests(project) == before
