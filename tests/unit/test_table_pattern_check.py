"""A table check tests string patterns on each column's distinct values, all pattern
columns from one scan of the relation: a failing value is reported for its own column
with the number of rows holding a failing value and examples; nulls are not pattern
failures (nullability is a rule of its own)."""
from __future__ import annotations

import duckdb
import pytest

from seg3a.states.s3_tables import _pattern_violations, pattern_rule

COLUMNS = {
    "country": {"name": "country", "type": "string", "pattern": "^[A-Z]{2}$"},
    "zone": {"name": "zone", "type": "string", "pattern": "^[A-Za-z_]+/[A-Za-z_]+$"},
    "stream": {"name": "stream", "type": "string", "pattern": "^[0-9a-f]{4}$"},
}


@pytest.fixture()
def conn():
    with duckdb.connect() as connection:
        yield connection


def rules(*names: str) -> list[tuple[str, str, str]]:
    return [(name, *pattern_rule(COLUMNS[name])) for name in names]


def relation(conn, rows: list[tuple]):
    conn.execute("create or replace table t (country varchar, zone varchar, stream varchar)")
    conn.executemany("insert into t values (?, ?, ?)", rows)
    # a view over the table, as S4 reads S3's shares
    conn.execute("create or replace view v as select * from t")
    return conn.view("v")


def test_conforming_columns_have_no_violation(conn):
    rows = [("DE", "Europe/Berlin", "00af"), ("DE", "Europe/Berlin", "00b0"), ("US", None, "0001")]
    assert _pattern_violations(relation(conn, rows), rules("country", "zone", "stream")) == []


def test_each_failing_column_is_reported_with_its_rows(conn):
    rows = [("DE", "Europe/Berlin", "00af"), ("de", "Europe/Berlin", "00b0"), ("de", "Berlin", "0001"),
            ("US", "America/New_York", "0002"), ("de", None, None)]
    found = {v.path: v for v in _pattern_violations(relation(conn, rows), rules("country", "zone", "stream"))}
    assert sorted(found) == ["columns.country", "columns.zone"]
    assert found["columns.country"].count == 3 and "'de'" in found["columns.country"].message
    assert found["columns.zone"].count == 1 and "'Berlin'" in found["columns.zone"].message


def test_a_single_pattern_column(conn):
    rows = [("DE", "x", "zz")]
    (only,) = _pattern_violations(relation(conn, rows), rules("stream"))
    assert (only.path, only.count) == ("columns.stream", 1)
    assert _pattern_violations(relation(conn, rows), []) == []
