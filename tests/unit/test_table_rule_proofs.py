"""A table check's value rules are first proven by one scan of aggregates (a column's
min, max or non-null count); a relation that breaks any rule fails that proof and gets
the rows counted per rule, so each violation keeps its column, row count and examples.
Expected counts come from the rows each case writes."""
from __future__ import annotations

import math

import duckdb
import pytest

from seg3a.states.s3_tables import _value_violations, all_equal_proof, column_rules, literal, quoted

COLUMNS = [
    {"name": "id", "type": "uint64", "nullable": False, "minimum": 1},
    {"name": "share", "type": "float64", "nullable": True, "exclusiveMinimum": 0, "maximum": 1},
    {"name": "count", "type": "int64", "nullable": False, "exclusiveMaximum": 10},
    {"name": "label", "type": "string", "nullable": True, "minLength": 1, "maxLength": 3},
    {"name": "source", "type": "string", "nullable": False, "enum": ["polygon", "override"]},
    {"name": "seed", "type": "uint64", "nullable": False},
]
SEED = 42
VALID = [(1, 0.5, 0, "a", "polygon", SEED), (2, None, 9, None, "override", SEED), (3, 1.0, 3, "abc", "polygon", SEED)]


@pytest.fixture()
def conn():
    with duckdb.connect() as connection:
        yield connection


def violations(conn, rows: list[tuple]) -> dict[str, int]:
    conn.execute("create or replace table t (id ubigint, share double, count bigint, label varchar, "
                 "source varchar, seed ubigint)")
    conn.executemany("insert into t values (?, ?, ?, ?, ?, ?)", rows)
    rules = [(c["name"], *rule) for c in COLUMNS for rule in column_rules(c)]
    rules.append(("seed", "differs from the partition token", f"{quoted('seed')} <> {literal(SEED)}",
                  all_equal_proof(quoted("seed"), literal(SEED))))
    found = _value_violations(conn.table("t"), rules)
    assert all(v.message and "e.g." in v.message for v in found)
    return {f"{v.path}: {v.message.split(' (e.g.')[0]}": v.count for v in found}


def with_row(index: int, **values) -> list[tuple]:
    names = [c["name"] for c in COLUMNS]
    rows = [list(row) for row in VALID]
    for name, value in values.items():
        rows[index][names.index(name)] = value
    return [tuple(row) for row in rows]


def test_valid_rows_are_proven(conn):
    assert violations(conn, VALID) == {}


def test_all_null_bounded_column_is_proven(conn):
    rows = [(i, None, 1, None, "polygon", SEED) for i in (1, 2, 3)]
    assert violations(conn, rows) == {}


CASES = {
    "null_id": (with_row(0, id=None), {"columns.id: null in non-nullable column": 1}),
    "id_below_minimum": (with_row(1, id=0), {"columns.id: below minimum 1": 1}),
    "share_zero": (with_row(0, share=0.0), {"columns.share: not above exclusive minimum 0": 1}),
    "share_above_maximum": (with_row(2, share=1.5), {"columns.share: above maximum 1": 1}),
    "share_nan": (with_row(0, share=math.nan), {"columns.share: non-finite value": 1,
                                                "columns.share: above maximum 1": 1}),
    "share_minus_infinity": (with_row(2, share=-math.inf), {"columns.share: non-finite value": 1,
                                                            "columns.share: not above exclusive minimum 0": 1}),
    "count_at_exclusive_maximum": (with_row(1, count=10), {"columns.count: not below exclusive maximum 10": 1}),
    "empty_label": (with_row(0, label=""), {"columns.label: shorter than 1": 1}),
    "long_label": (with_row(2, label="abcd"), {"columns.label: longer than 3": 1}),
    "source_not_in_enum": (with_row(1, source="gps"), {"columns.source: not one of ['polygon', 'override']": 1}),
    "seed_differs": (with_row(2, seed=SEED + 1), {"columns.seed: differs from the partition token": 1}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_rule_is_counted(conn, case):
    rows, expected = CASES[case]
    assert violations(conn, rows) == expected


def test_several_rows_and_rules_broken_are_each_counted(conn):
    rows = VALID + [(0, 2.0, 1, "", "gps", SEED), (5, 0.5, 11, "abcd", "polygon", SEED + 1)]
    assert violations(conn, rows) == {
        "columns.id: below minimum 1": 1,
        "columns.share: above maximum 1": 1,
        "columns.count: not below exclusive maximum 10": 1,
        "columns.label: shorter than 1": 1,
        "columns.label: longer than 3": 1,
        "columns.source: not one of ['polygon', 'override']": 1,
        "columns.seed: differs from the partition token": 1,
    }
