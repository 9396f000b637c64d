"""Run-constant columns of a published part file (seg3a.states.s3_publish.write_part_file):
repeated by the writer instead of streamed from DuckDB only when every row is proven to
hold the first row's value, otherwise written again with every column streamed. The
bytes never depend on which path wrote them."""
from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seg3a.states import s3_publish
from seg3a.states.s3_tables import DuplicateKey

KEY = ["merchant_id", "legal_country_iso", "tzid"]
SCHEMA = pa.schema([
    ("seed", pa.uint64(), False), ("manifest_fingerprint", pa.string(), False),
    ("merchant_id", pa.uint64(), False), ("legal_country_iso", pa.string(), False),
    ("tzid", pa.string(), False), ("share_drawn", pa.float64(), False),
    ("alpha_sum_country", pa.float64(), False), ("rng_module", pa.string(), False),
    ("rng_event_id", pa.string(), True), ("notes", pa.string(), True),
])
CONSTANTS = ("seed", "manifest_fingerprint", "rng_module", "rng_event_id", "notes", "alpha_sum_country")
ROWS = 10_000


@pytest.fixture()
def con():
    connection = duckdb.connect()
    connection.execute(f"""
        create table share_rows as
        select 42::ubigint as seed, repeat('ab', 32) as manifest_fingerprint,
               (i // 4 + 1)::ubigint as merchant_id, case when i % 2 = 0 then 'AA' else 'AB' end as legal_country_iso,
               'Zone/' || lpad((i % 4)::varchar, 2, '0') as tzid, i / 7.0 as share_drawn,
               2.5::double as alpha_sum_country, '3A.S3' as rng_module,
               null::varchar as rng_event_id, null::varchar as notes
        from range({ROWS}) t(i)
        order by merchant_id, legal_country_iso, tzid
    """)
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def small_row_groups(monkeypatch):
    # Several full row groups and a partial last one.
    monkeypatch.setattr(s3_publish, "ROW_GROUP_ROWS", 4096)


@pytest.fixture()
def writes(monkeypatch):
    """The constants each attempt of the writer was given, in order."""
    seen = []
    original = s3_publish._write_part

    def recording(path, schema, constants=None):
        seen.append(sorted(constants or {}))
        return original(path, schema, constants)

    monkeypatch.setattr(s3_publish, "_write_part", recording)
    return seen


def written(relation, path, run_constants=()) -> str:
    rows = s3_publish.write_part_file(relation, KEY, path, SCHEMA, run_constants)
    assert rows == pq.ParquetFile(path).metadata.num_rows
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_constants_repeated_by_the_writer_give_the_streamed_bytes(con, tmp_path, writes):
    relation = con.table("share_rows")
    plain = written(relation, tmp_path / "plain.parquet")
    repeated = written(relation, tmp_path / "repeated.parquet", CONSTANTS)
    assert repeated == plain
    # The double column is no exact literal: it stays streamed; the others are repeated.
    assert writes == [[], ["manifest_fingerprint", "notes", "rng_event_id", "rng_module", "seed"]]
    table = pq.read_table(tmp_path / "repeated.parquet")
    assert table.schema == SCHEMA and table.num_rows == ROWS
    assert pq.ParquetFile(tmp_path / "repeated.parquet").metadata.num_row_groups == 3
    assert set(table.column("manifest_fingerprint").to_pylist()) == {"ab" * 32}
    assert table.column("notes").null_count == ROWS


@pytest.mark.parametrize("change", [
    "set manifest_fingerprint = repeat('cd', 32) where merchant_id = 2000",  # a later row differs
    "set notes = 'late' where merchant_id = 2500",                            # NULL first, a value later
    "set rng_event_id = 'first' where merchant_id = 1",                       # a value first, NULL later
])
def test_a_column_that_is_not_constant_is_written_again_streamed(con, tmp_path, writes, change):
    con.execute(f"update share_rows {change}")
    relation = con.sql("select * from share_rows order by merchant_id, legal_country_iso, tzid")
    plain = written(relation, tmp_path / "plain.parquet")
    writes.clear()
    assert written(relation, tmp_path / "fallback.parquet", CONSTANTS) == plain
    assert len(writes) == 2 and writes[0] and writes[1] == []  # the proof failed, every column streamed


def test_rows_out_of_key_order_are_sorted_with_the_constants_repeated(con, tmp_path, writes):
    plain = written(con.table("share_rows"), tmp_path / "plain.parquet")
    shuffled = con.sql("select * from share_rows order by hash(merchant_id, tzid)")
    writes.clear()
    assert written(shuffled, tmp_path / "sorted.parquet", CONSTANTS) == plain
    assert len(writes) == 1 and writes[0]  # the sorted rows' proof holds: no streamed rewrite


def test_a_key_column_named_as_a_constant_stays_streamed(con, tmp_path, writes):
    # Every row here has merchant_id 1: a constant, but also a key column.
    one_merchant = con.sql("select * replace (1::ubigint as merchant_id) from share_rows where merchant_id = 3")
    digest = written(one_merchant, tmp_path / "keyed.parquet", ("merchant_id", "seed"))
    assert digest == written(one_merchant, tmp_path / "plain.parquet")
    assert writes == [["seed"], []]


def test_a_duplicate_key_is_refused_with_constants_repeated(con, tmp_path):
    con.execute("insert into share_rows select * from share_rows where merchant_id = 7 and tzid = 'Zone/02'")
    with pytest.raises(DuplicateKey):
        s3_publish.write_part_file(con.table("share_rows"), KEY, tmp_path / "dup.parquet", SCHEMA, CONSTANTS)


def test_an_empty_relation_is_written_streamed(con, tmp_path, writes):
    empty = con.sql("select * from share_rows where false")
    assert written(empty, tmp_path / "repeated.parquet", CONSTANTS) == written(empty, tmp_path / "plain.parquet")
    assert writes == [[], []]
    assert pq.read_table(tmp_path / "repeated.parquet").schema == SCHEMA
