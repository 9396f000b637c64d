"""The spatial extension's signature is checked once per process (seg3a.core.duck): after a
LOAD with DuckDB's check has succeeded, new databases may skip the check for that file,
only while the file is unchanged on disk. Real DuckDB on a copy of the installed extension."""
from __future__ import annotations

import os
import shutil

import duckdb
import pytest

from seg3a.core import duck

AREA = "select st_area(st_geomfromtext('POLYGON((0 0, 2 0, 2 1, 0 0))'))"


@pytest.fixture()
def extension(tmp_path, monkeypatch):
    """A private copy of the installed extension, not yet verified by this process."""
    copy = tmp_path / "spatial.duckdb_extension"
    shutil.copyfile(duck.spatial_extension_path(), copy)
    monkeypatch.setattr(duck, "spatial_extension_path", lambda: copy)
    monkeypatch.setattr(duck, "_verified_spatial", None)
    return copy


def load_into_new_database() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:", config=duck.spatial_connect_config())
    duck.load_spatial(conn)
    return conn


def test_a_checked_load_lets_later_databases_skip_the_check(extension):
    assert duck.spatial_connect_config() == {}  # nothing verified yet: the LOAD checks
    with load_into_new_database() as first:
        assert first.execute("select current_setting('allow_unsigned_extensions')").fetchone() == (False,)
        assert first.execute(AREA).fetchone() == (1.0,)
    assert duck.spatial_connect_config() == {"allow_unsigned_extensions": "true"}
    with load_into_new_database() as later:
        assert later.execute(AREA).fetchone() == (1.0,)


def test_verify_spatial_checks_once(extension):
    duck.verify_spatial()
    assert duck.spatial_connect_config() == {"allow_unsigned_extensions": "true"}


def test_a_replaced_file_is_checked_again(extension):
    duck.verify_spatial()
    staged = extension.with_name("staged")
    shutil.copyfile(extension, staged)
    os.replace(staged, extension)  # the same bytes, another file (as a reinstall); the loaded one stays mapped
    assert duck.spatial_connect_config() == {}


def test_a_tampered_extension_is_refused_and_never_marked_verified(extension):
    data = bytearray(extension.read_bytes())
    data[len(data) // 2] ^= 0xFF
    extension.write_bytes(bytes(data))
    with duckdb.connect(":memory:") as conn, pytest.raises(duckdb.Error, match="signature"):
        duck.load_spatial(conn)
    with pytest.raises(duckdb.Error, match="signature"):
        duck.verify_spatial()
    assert duck.spatial_connect_config() == {}


def test_a_file_replaced_after_the_check_fails_an_unchecked_load(extension):
    duck.verify_spatial()
    config = duck.spatial_connect_config()  # a database about to be opened unchecked
    staged = extension.with_name("staged")
    shutil.copyfile(extension, staged)
    os.replace(staged, extension)
    with duckdb.connect(":memory:", config=config) as conn, pytest.raises(RuntimeError, match="E3A_INFRA"):
        duck.load_spatial(conn)


def plugin_first_connection(tmp_path, monkeypatch) -> duckdb.DuckDBPyConnection:
    """The seg3a plugin's set-up of a new database, as dbt-duckdb calls it (no run: the run
    values say why), whose spatial LOAD runs beside the import of the UDFs' modules."""
    from python_udfs.plugin import Plugin

    monkeypatch.setenv("SEG3A_RUNS_ROOT", str(tmp_path / "no-runs"))
    plugin = Plugin("seg3a", {})
    conn = duckdb.connect(":memory:", config=duck.spatial_connect_config())
    plugin.configure_connection(conn)
    return conn


def test_the_plugins_first_connection_checks_and_loads_spatial_beside_the_udf_imports(extension, tmp_path,
                                                                                        monkeypatch):
    with plugin_first_connection(tmp_path, monkeypatch) as conn:
        cursor = conn.cursor()  # as dbt's nodes: the extension is loaded for the whole database
        assert cursor.execute(AREA).fetchone() == (1.0,)
        assert cursor.execute("select s3a_sha256_hex('a')").fetchone()[0].startswith("ca978112")
    assert duck.spatial_connect_config() == {"allow_unsigned_extensions": "true"}


def test_the_plugins_first_connection_refuses_a_tampered_extension(extension, tmp_path, monkeypatch):
    data = bytearray(extension.read_bytes())
    data[len(data) // 2] ^= 0xFF
    extension.write_bytes(bytes(data))
    with pytest.raises(duckdb.Error, match="signature"):
        plugin_first_connection(tmp_path, monkeypatch)
    assert duck.spatial_connect_config() == {}
