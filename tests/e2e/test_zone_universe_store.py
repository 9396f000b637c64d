"""The Z(c) store (seg3a.zones.cache, materialization `seg3a_stored_table`) through real
dbt builds: the overlay is computed once per key, published as Parquet outside the run's
database, reused (and said so) by the next build whatever its database, recomputed when
SEG3A_ZONE_UNIVERSE_REBUILD=1 or when the reference data change.

Each run root shadows the reference polygons with a few Benelux countries and their
zones (files under `<run root>/reference/` take precedence), so the overlay takes seconds
and its key is this test's own; the store is a private folder (SEG3A_ZONE_UNIVERSE_CACHE).
The run roots are copies of the session's small world; the first build into an empty
store is made once for both tests."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from seg3a.core.context import RunContext
from seg3a.core.duck import connect
from seg3a.zones.cache import DIGEST_MEMO, REBUILD_ENV, STORE_ENV, store_dir_for_run
from tests.conftest import copy_run
from tests.e2e.conftest import run_dbt
from tests.e2e.test_s3_s4 import environment

pytestmark = pytest.mark.e2e

MODEL = "zone_universe_candidates"
# Every build gets its own folder but the same file name: DuckDB names the catalogue after
# the file, so the builds share one parsed project (tests/e2e/dbt_runner.py).
DATABASE = "seg3a.duckdb"
COUNTRIES = ("BE", "LU", "NL")
ZONES = ("Europe/Brussels", "Europe/Luxembourg", "Europe/Amsterdam", "Europe/Berlin", "Europe/Paris")


def shadow_reference(run_root: Path, countries: tuple[str, ...]) -> None:
    """Small copies of the polygon datasets under the run root's reference folder."""
    ctx = RunContext.from_run_root(run_root)
    conn = connect()
    try:
        for dataset_id, key, keep in (("world_countries", "country_iso", countries), ("tz_world_2025a", "tzid", ZONES)):
            source = ctx.path(dataset_id)
            target = run_root / "reference" / ctx.catalogue_path(dataset_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            conn.execute(f"copy (select * from read_parquet('{source}') where {key} in ? order by all) "
                         f"to '{target}' (format parquet)", [list(keep)])
            manifest = source.with_name(source.stem + ".manifest.json")  # the release S0 records
            shutil.copyfile(manifest, target.with_name(manifest.name))
    finally:
        conn.close()


def make_run(small_world: Path, base: Path, countries: tuple[str, ...] = COUNTRIES) -> tuple[Path, Path]:
    """A copy of the small world whose reference polygons are shadowed by `countries`."""
    run_root = copy_run(small_world, base)
    shadow_reference(run_root, countries)
    return run_root.parent, run_root


def build(runs: Path, database: Path, work: Path) -> str:
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    result = run_dbt(["build", "--select", f"+{MODEL}"], runs, database, work)
    assert result.ok, result.output[-4000:]
    return result.output


def rows(query: str, database: Path | None = None) -> list[tuple]:
    with duckdb.connect(str(database) if database else ":memory:", read_only=database is not None) as conn:
        return conn.execute(query).fetchall()


def table_rows(database: Path) -> list[tuple]:
    return rows(f"select * from {MODEL}", database)


@dataclass(frozen=True)
class FirstBuild:
    runs: Path
    run_root: Path
    store_root: Path
    stored: Path
    output: str
    rows: list[tuple]
    store_after: Path  # a copy of the store as this build left it


@pytest.fixture(scope="module")
def first_build(small_world, tmp_path_factory) -> FirstBuild:
    """The first build of a run with its own reference data, in an empty store: made once,
    continued by the reuse test, and the store it left is where the other-reference test
    starts."""
    base = tmp_path_factory.mktemp("first-build")
    store_root = base / "store"
    with environment(**{STORE_ENV: str(store_root)}):
        runs, run_root = make_run(small_world, base / "a")
        stored = store_dir_for_run(run_root) / f"{MODEL}.parquet"
        assert stored.parent.parent == store_root and not stored.exists()
        output = build(runs, base / "first" / DATABASE, base / "w1")
    shutil.copytree(store_root, base / "store-after")
    return FirstBuild(runs, run_root, store_root, stored, output, table_rows(base / "first" / DATABASE),
                      base / "store-after")


def test_overlay_is_computed_once_then_reused_until_a_rebuild_is_forced(first_build, tmp_path):
    runs, stored, computed = first_build.runs, first_build.stored, first_build.rows
    with environment(**{STORE_ENV: str(first_build.store_root)}):
        assert f"{MODEL}: computed and stored as {stored}" in first_build.output
        assert {row[0] for row in computed} == set(COUNTRIES) and len(computed) >= len(COUNTRIES)
        assert rows(f"select * from read_parquet('{stored}')") == computed
        assert [p.name for p in stored.parent.iterdir()] == [stored.name]  # no staged file left behind
        published = stored.stat().st_mtime_ns

        # another database, same inputs: read from the store, not recomputed
        output = build(runs, tmp_path / "second" / DATABASE, tmp_path / "w2")
        assert f"{MODEL}: reused {stored}" in output and "computed and stored" not in output
        assert table_rows(tmp_path / "second" / DATABASE) == computed
        assert stored.stat().st_mtime_ns == published

        # the build really reads the stored file: a changed file shows in the table ...
        rows(f"copy (select * from read_parquet('{stored}') order by country_iso, tzid offset 1) to '{stored}.x' "
             f"(format parquet)")
        Path(f"{stored}.x").replace(stored)
        build(runs, tmp_path / "third" / DATABASE, tmp_path / "w3")
        assert table_rows(tmp_path / "third" / DATABASE) == computed[1:]

        # ... until a forced rebuild recomputes it and replaces the stored file
        with environment(**{REBUILD_ENV: "1"}):
            output = build(runs, tmp_path / "fourth" / DATABASE, tmp_path / "w4")
        assert f"{MODEL}: computed and stored as {stored}" in output
        assert table_rows(tmp_path / "fourth" / DATABASE) == computed
        assert rows(f"select * from read_parquet('{stored}')") == computed


def test_other_reference_data_get_their_own_stored_overlay(first_build, small_world, tmp_path):
    store_root = tmp_path / "store"
    shutil.copytree(first_build.store_after, store_root)  # the first run's overlay stored
    with environment(**{STORE_ENV: str(store_root)}):
        other_runs, other_root = make_run(small_world, tmp_path / "b", COUNTRIES[:2])
        other = store_dir_for_run(other_root)
        first = store_dir_for_run(first_build.run_root)
        assert other != first and (first / f"{MODEL}.parquet").is_file()
        output = build(other_runs, tmp_path / "b" / DATABASE, tmp_path / "wb")
        assert f"{MODEL}: computed and stored as {other / MODEL}.parquet" in output
        assert {row[0] for row in table_rows(tmp_path / "b" / DATABASE)} == set(COUNTRIES[:2])
        folders = sorted(p.name for p in store_root.iterdir() if p.is_dir())
        assert folders == sorted([other.name, first.name])
        assert {p.name for p in store_root.iterdir() if not p.is_dir()} <= {DIGEST_MEMO}  # the key's digest memo
