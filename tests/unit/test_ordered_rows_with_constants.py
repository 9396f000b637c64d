"""s1_escalation_queue is published with `presorted=true`: its table is created from a
select over rows ordered by key, with the run constants added as scalar subqueries over
one-row relations (DuckDB plans them as a cross product), and the publishing COPY writes
the table as stored. That holds only if DuckDB keeps the ordered side's order through the
cross product into the stored table when many row groups are written on several
threads. This test asks DuckDB exactly that, at a size that spans many row groups, so a
DuckDB that stops doing it fails here before a published queue could leave its writer
sort."""
from __future__ import annotations

import duckdb
import pytest

from seg3a.states.s3_tables import key_order

ROWS = 2_000_000  # about 16 row groups of DuckDB's 122,880 rows


@pytest.fixture(scope="module")
def connection():
    conn = duckdb.connect()
    conn.execute("SET threads = 4")
    conn.execute("SELECT setseed(0.25)")
    conn.execute("CREATE TABLE run_constants AS SELECT 42::UBIGINT AS seed, repeat('f', 64) AS manifest_fingerprint")
    conn.execute(
        f"""CREATE TABLE pairs AS
        SELECT (random() * 1e9)::UBIGINT AS merchant_id,
               chr(65 + (random() * 25)::INT) || chr(65 + (random() * 25)::INT) AS legal_country_iso,
               (random() * 100)::UINTEGER AS site_count
        FROM range({ROWS})""")
    yield conn
    conn.close()


def _stored_in_key_order(conn, table: str) -> tuple[bool, bool]:
    return key_order(conn.table(table), ["merchant_id", "legal_country_iso"])


@pytest.mark.parametrize("attempt", range(3))
def test_constants_added_by_scalar_subqueries_keep_the_sorted_order(connection, attempt):
    connection.execute(
        """CREATE OR REPLACE TABLE queue AS
        WITH pairs_ordered AS (
            SELECT merchant_id, legal_country_iso, site_count FROM pairs
            ORDER BY merchant_id, legal_country_iso
        )
        SELECT (SELECT seed FROM run_constants) AS seed,
               (SELECT manifest_fingerprint FROM run_constants) AS manifest_fingerprint,
               pairs_ordered.merchant_id, pairs_ordered.legal_country_iso, pairs_ordered.site_count
        FROM pairs_ordered""")
    non_decreasing, _strict = _stored_in_key_order(connection, "queue")
    assert non_decreasing
    assert connection.execute("SELECT count(*) FROM queue").fetchone()[0] == ROWS


def test_the_order_check_sees_rows_stored_out_of_order(connection):
    """The check above can fail: rows stored in another order are reported."""
    connection.execute("CREATE OR REPLACE TABLE shuffled AS SELECT * FROM pairs ORDER BY site_count, merchant_id DESC")
    assert _stored_in_key_order(connection, "shuffled") == (False, False)
