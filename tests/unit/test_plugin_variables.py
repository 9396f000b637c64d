"""The run variables the plugin sets on every cursor: one execute gives each variable the
value and DuckDB type of its Python value (strings with quotes, exact doubles, string
lists, the dataset-location map)."""
from __future__ import annotations

import duckdb
import pytest

from python_udfs.plugin import PluginConfigError, set_variables_statement

VARIABLES = {
    "seg3a_run_id": "r'1",
    "seg3a_zone_rule__min_overlap_km2": 0.1 + 0.2,
    "seg3a_zone_rule__uninhabited_countries": ["AQ", "B'V"],
    "seg3a_count": 2**40,
    "seg3a_loc": {"zone_alloc": "/runs/x/zone_alloc", "s6_receipt_3A": "/runs/it's/receipt.json"},
}


@pytest.fixture()
def cursor():
    connection = duckdb.connect()
    connection.execute(set_variables_statement(VARIABLES))
    yield connection
    connection.close()


def test_values_round_trip(cursor):
    for name, value in VARIABLES.items():
        got = cursor.execute(f"select getvariable('{name}')").fetchone()[0]
        assert got == value, name


def test_types(cursor):
    observed = {n: cursor.execute(f"select typeof(getvariable('{n}'))").fetchone()[0] for n in VARIABLES}
    assert observed == {
        "seg3a_run_id": "VARCHAR",
        "seg3a_zone_rule__min_overlap_km2": "DOUBLE",
        "seg3a_zone_rule__uninhabited_countries": "VARCHAR[]",
        "seg3a_count": "BIGINT",
        "seg3a_loc": "MAP(VARCHAR, VARCHAR)",
    }


def test_location_lookup_and_unknown_dataset(cursor):
    assert cursor.execute("select getvariable('seg3a_loc')['s6_receipt_3A']").fetchone()[0] == "/runs/it's/receipt.json"
    assert cursor.execute("select getvariable('seg3a_loc')['no_such_dataset'] is null").fetchone()[0] is True


def test_empty_location_map_when_the_context_failed():
    connection = duckdb.connect()
    connection.execute(set_variables_statement({"seg3a_loc": {}, "seg3a_context_error": "no receipt"}))
    assert connection.execute("select getvariable('seg3a_loc')['zone_alloc'] is null").fetchone()[0] is True


@pytest.mark.parametrize("bad", [{"bad name": "x"}, {"seg3a_x": True}, {"seg3a_x": [1, 2]}, {"seg3a_x": {"a": 1}}])
def test_rejects_what_it_cannot_render(bad):
    with pytest.raises(PluginConfigError, match="E3A_PLUGIN_CONFIG"):
        set_variables_statement(bad)
