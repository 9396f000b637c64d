"""The run values the plugin exposes, all macros of the run's database created once when
it opens it, which every cursor of the database sees: the identity and Z(c) rule values,
`<name>()` (one create gives each the value and DuckDB type of its Python value: strings
with quotes, exact doubles, integers, string lists), and the dataset locations,
`seg3a_loc__<dataset id>()`."""
from __future__ import annotations

import duckdb
import pytest

from python_udfs.plugin import (
    PluginConfigError, create_database_macros, dictionary_dataset_ids, identity_values, location_macros_statement,
    run_values_statement, value_macros_statement,
)

VALUES = {
    "seg3a_run_id": "r'1",
    "seg3a_zone_rule__min_overlap_km2": 0.1 + 0.2,
    "seg3a_zone_rule__uninhabited_countries": ["AQ", "B'V"],
    "seg3a_count": 2**40,
}
RUN_VALUES = {**VALUES, "seg3a_loc": {"zone_alloc": "/runs/x/zone_alloc", "s6_receipt_3A": "/runs/it's/receipt.json"}}


@pytest.fixture()
def cursor(tmp_path):
    """A cursor opened after the values were created on the database's connection, as dbt's
    are after the plugin's configure_connection."""
    connection = duckdb.connect(str(tmp_path / "seg3a.duckdb"))
    connection.execute(value_macros_statement(RUN_VALUES))
    yield connection.cursor()
    connection.close()


def test_values_round_trip(cursor):
    for name, value in VALUES.items():
        got = cursor.execute(f"select {name}()").fetchone()[0]
        assert got == value, name


def test_types(cursor):
    observed = {n: cursor.execute(f"select typeof({n}())").fetchone()[0] for n in VALUES}
    assert observed == {
        "seg3a_run_id": "VARCHAR",
        "seg3a_zone_rule__min_overlap_km2": "DOUBLE",
        "seg3a_zone_rule__uninhabited_countries": "VARCHAR[]",
        "seg3a_count": "BIGINT",
    }


def test_identity_values_a_run_lacks_are_null(cursor):
    """Without a usable run only the reason is known: the other identity values still bind."""
    assert "seg3a_run_root" in identity_values() and "seg3a_context_error" in identity_values()
    for name in identity_values():
        if name not in VALUES:
            assert cursor.execute(f"select {name}(), typeof({name}())").fetchone() == (None, "VARCHAR"), name


@pytest.mark.parametrize("bad", [{"bad name": "x"}, {"seg3a_x": True}, {"seg3a_x": [1, 2]}, {"seg3a_x": {"a": "b"}}])
def test_rejects_what_it_cannot_render(bad):
    with pytest.raises(PluginConfigError, match="E3A_PLUGIN_CONFIG"):
        value_macros_statement(bad)


def test_locations_are_not_value_macros(cursor):
    with pytest.raises(duckdb.CatalogException, match="seg3a_loc"):
        cursor.execute("select seg3a_loc()")


def test_location_macros_are_seen_by_every_cursor_of_the_database(tmp_path):
    """Created once on the connection, as the plugin does: a cursor opened afterwards (dbt
    opens one per node) reads them, also where DuckDB wants a constant (read_parquet)."""
    data = tmp_path / "it's.parquet"
    connection = duckdb.connect(str(tmp_path / "seg3a.duckdb"))
    connection.execute(f"copy (select 7 as x) to '{str(data).replace(chr(39), chr(39) * 2)}' (format parquet)")
    connection.execute(location_macros_statement({"seg3a_loc": {"zone_alloc": str(data), "s6_receipt_3A": "/r"}}))
    cursor = connection.cursor()
    assert cursor.execute("select seg3a_loc__zone_alloc(), seg3a_loc__s6_receipt_3A()").fetchone() == (str(data), "/r")
    assert cursor.execute("select x from read_parquet(seg3a_loc__zone_alloc())").fetchall() == [(7,)]
    with pytest.raises(duckdb.CatalogException, match="seg3a_loc__no_such_dataset"):
        cursor.execute("select seg3a_loc__no_such_dataset()")
    connection.close()


def test_session_macros_shadow_the_databases(tmp_path):
    """The shell attaches a database built for a run and sets the run it opens on top."""
    connection = duckdb.connect(str(tmp_path / "seg3a.duckdb"))
    connection.execute(location_macros_statement({"seg3a_loc": {"zone_alloc": "/built"}}))
    connection.execute(value_macros_statement({"seg3a_run_id": "built"}))
    connection.execute(run_values_statement({"seg3a_run_id": "r", "seg3a_loc": {"zone_alloc": "/opened"}}))
    assert connection.execute("select seg3a_loc__zone_alloc(), seg3a_run_id()").fetchone() == ("/opened", "r")
    assert connection.cursor().execute("select seg3a_loc__zone_alloc(), seg3a_run_id()").fetchone() == ("/built", "built")
    connection.close()


def test_every_location_fails_with_the_reason_when_the_context_failed():
    connection = duckdb.connect()
    connection.execute(location_macros_statement({"seg3a_loc": {}, "seg3a_context_error": "no receipt under /x"}))
    ids = dictionary_dataset_ids()
    assert "zone_alloc" in ids and "s6_receipt_3A" in ids
    for dataset_id in ids:
        with pytest.raises(duckdb.Error, match=f"E3A: no location for {dataset_id}: no receipt under /x"):
            connection.execute(f"select seg3a_loc__{dataset_id}()")
    connection.close()


def test_rejects_a_dataset_id_it_cannot_name():
    with pytest.raises(PluginConfigError, match="E3A_PLUGIN_CONFIG"):
        location_macros_statement({"seg3a_loc": {"zone alloc; drop table x": "/p"}})


def test_the_plugin_creates_values_and_locations_in_one_committed_transaction(tmp_path):
    """What configure_connection runs: both kinds of macro, committed (a new connection to
    the file sees them), and no transaction left open on the plugin's connection."""
    database = str(tmp_path / "seg3a.duckdb")
    connection = duckdb.connect(database)
    create_database_macros(connection, RUN_VALUES)
    connection.execute("BEGIN TRANSACTION")  # fails if the plugin's transaction were still open
    connection.execute("ROLLBACK")
    connection.close()
    reopened = duckdb.connect(database)
    assert reopened.execute("select seg3a_run_id(), seg3a_loc__zone_alloc()").fetchone() == ("r'1", "/runs/x/zone_alloc")
    reopened.close()


def test_a_failing_macro_statement_leaves_no_macro_and_no_open_transaction(tmp_path):
    """`select` passes the name check but is no macro name DuckDB parses: the statement
    fails, nothing of it is created, and the connection is usable (rolled back)."""
    connection = duckdb.connect(str(tmp_path / "seg3a.duckdb"))
    with pytest.raises(duckdb.ParserException):
        create_database_macros(connection, {"seg3a_run_id": "r", "select": "x", "seg3a_loc": {"zone_alloc": "/p"}})
    connection.execute("BEGIN TRANSACTION")
    connection.execute("ROLLBACK")
    for name in ("seg3a_run_id", "seg3a_loc__zone_alloc"):
        with pytest.raises(duckdb.CatalogException, match=name):
            connection.execute(f"select {name}()")
    connection.close()
