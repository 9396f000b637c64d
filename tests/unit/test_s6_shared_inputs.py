"""int_s6__checks_evaluated reads an input several check queries parse (the RNG event
log) once into a table of its session (seg3a.states.s6_validation.SharedInputs): the
queries then read the table where their text has the inlined select, with the same rows
as the select; an input one query reads, or whose table cannot be made, stays inline, so
the query runs as rendered and fails with its own message (E3A_S6_003's reason). Real
DuckDB on a real JSON-lines file."""
from __future__ import annotations

import json

import duckdb
import pytest

from seg3a.states.s6_validation import SharedInputs, _run_queries

PREFIX = SharedInputs.PREFIX


@pytest.fixture
def events(tmp_path):
    path = tmp_path / "events.jsonl"
    rows = [{"merchant_id": m, "country_iso": c, "run_id": "r" if m != 3 else "other"}
            for m, c in ((1, "US"), (2, "DE"), (3, "FR"), (3, "FR"))]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    select = (f"(select merchant_id, country_iso, run_id from read_json('{path.as_posix()}', "
              "format = 'newline_delimited', columns = {merchant_id: 'UBIGINT', country_iso: 'VARCHAR', "
              "run_id: 'VARCHAR'}))")
    return path, select


def row(name: str, query: str, select: str) -> dict:
    return {"test_name": name, "check_id": "CHK_X", "query": query,
            "shared_inputs": json.dumps({"rng_events": select}) if select in query else "{}"}


def issue_query(select: str, condition: str, code: str) -> str:
    return (f"select '{code}' as issue_code, merchant_id, country_iso as legal_country_iso, null as tzid, "
            f"'m' as message, run_id as details, 1 as affected_count from {select} as e where {condition}")


def queries(select: str) -> list[dict]:
    return [
        row("duplicates", f"select 'DUP' as issue_code, merchant_id, country_iso as legal_country_iso, null as tzid, "
                          f"'m' as message, 'rows=' || count(*) as details, 1 as affected_count from {select} "
                          "group by all having count(*) > 1", select),
        row("plain", "select 'P' as issue_code, 1 as merchant_id, 'US' as legal_country_iso, null as tzid, "
                     "'m' as message, 'd' as details, 1 as affected_count where false", select),
        row("foreign", issue_query(select, "run_id <> 'r'", "FOREIGN"), select),
    ]


def evaluated(conn, rows):
    parts, broken = _run_queries(conn, rows)
    return sorted(tuple(r.values()) for part in parts for r in part.to_pylist()), broken


def tables(conn) -> set[str]:
    return {name for (name,) in conn.execute("select table_name from duckdb_tables() where temporary").fetchall()}


def test_shared_rows_are_the_inline_rows(events):
    _path, select = events
    conn = duckdb.connect()
    inline = [{**r, "shared_inputs": "{}"} for r in queries(select)]
    assert evaluated(conn, queries(select)) == evaluated(conn, inline)
    found, broken = evaluated(conn, queries(select))
    assert not broken and {r[2] for r in found} == {"DUP", "FOREIGN"}
    assert tables(conn) == set()  # dropped after the last reader


def test_the_table_is_made_once_and_read_by_each_reader(events):
    _path, select = events
    conn = duckdb.connect()
    rows = queries(select)
    with SharedInputs(conn, rows) as shared:
        assert shared.readers == {"rng_events": [0, 2]}
        first = shared.query(0, rows[0])
        assert select not in first and f"{PREFIX}rng_events" in first
        assert shared.query(1, rows[1]) == rows[1]["query"]
        assert tables(conn) == {f"{PREFIX}rng_events"}
        assert select not in shared.query(2, rows[2])
    assert tables(conn) == set()


def test_an_input_one_query_reads_stays_inline(events):
    _path, select = events
    conn = duckdb.connect()
    rows = queries(select)[:2]
    with SharedInputs(conn, rows) as shared:
        assert shared.readers == {}
        assert shared.query(0, rows[0]) == rows[0]["query"]
    assert tables(conn) == set()


def test_a_table_that_cannot_be_made_leaves_each_query_its_own_failure(events):
    path, select = events
    path.write_text('{"merchant_id": "not a number", "country_iso": "US", "run_id": "r"}\n')
    conn = duckdb.connect()
    rows = queries(select)
    inline = [{**r, "shared_inputs": "{}"} for r in rows]
    found, broken = evaluated(conn, rows)
    assert found == [] and [b[1] for b in broken] == ["duplicates", "foreign"]
    assert (found, broken) == evaluated(conn, inline)
