"""The `seg3a_table` materialization (macros/materializations/seg3a_table.sql) on a small
fixture project: tables replaced in place by SQL and Python models, a view of the same
name replaced, and an enforced contract applied (a breaking build fails and leaves the
table as it was); and the project's `view` materialization (seg3a_view.sql): a view
replaced in place, a table of the same name replaced, its post-hook run after it."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.e2e.dbt_runner import DbtResult, dbt_command

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[1] / "dbt_fixtures" / "materialization"
BUILDABLE = ["--select", "replaced", "replaced_py", "contracted"]


@pytest.fixture()
def fixture_dbt(tmp_path):
    """`dbt <args>` on the fixture project (through the tests' fork server: one parse for
    every build), the model's value and type given as environment variables."""
    database = tmp_path / "fixture.duckdb"
    env = {"DBT_PROFILES_DIR": str(PROJECT), "SEG3A_TABLE_FIXTURE_DUCKDB": str(database),
           "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}

    def run(*args: str, n: int = 1, n_type: str = "integer") -> DbtResult:
        values = {"SEG3A_TABLE_FIXTURE_N": str(n), "SEG3A_TABLE_FIXTURE_N_TYPE": n_type}
        return dbt_command([*args, "--project-dir", str(PROJECT), "--no-use-colors"], {**env, **values})

    def rows(sql: str) -> list[tuple]:
        with duckdb.connect(str(database), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    run.rows = rows
    run.database = database
    return run


def test_rebuilds_replace_the_tables(fixture_dbt):
    with duckdb.connect(str(fixture_dbt.database)) as connection:  # an older view of the same name
        connection.execute("create view main.replaced as select 'old' as n")
    first = fixture_dbt("build", *BUILDABLE, n=1)
    assert first.ok, first.output[-3000:]
    second = fixture_dbt("build", *BUILDABLE, n=2)
    assert second.ok, second.output[-3000:]
    for model in ("replaced", "replaced_py", "contracted"):
        assert fixture_dbt.rows(f"select n from main.{model}") == [(2,)], model
    kinds = dict(fixture_dbt.rows("select table_name, table_type from information_schema.tables"))
    assert kinds == {"replaced": "BASE TABLE", "replaced_py": "BASE TABLE", "contracted": "BASE TABLE"}


def test_a_broken_contract_fails_and_keeps_the_table(fixture_dbt):
    assert fixture_dbt("build", "--select", "contracted", n=1).ok
    broken = fixture_dbt("build", "--select", "contracted", n=3, n_type="varchar")
    assert not broken.ok
    assert "contract" in broken.output.lower(), broken.output[-3000:]
    assert fixture_dbt.rows("select n from main.contracted") == [(1,)]
    assert fixture_dbt.rows("select data_type from information_schema.columns "
                            "where table_name = 'contracted'") == [("INTEGER",)]



def test_views_are_replaced_in_place_and_run_their_hooks(fixture_dbt):
    with duckdb.connect(str(fixture_dbt.database)) as connection:  # an older table of the same name
        connection.execute("create table main.viewed as select 'old' as n")
    for n in (1, 2):
        built = fixture_dbt("build", "--select", "viewed", n=n)
        assert built.ok, built.output[-3000:]
        assert fixture_dbt.rows("select n from main.viewed") == [(n,)]
        assert fixture_dbt.rows("select n from main.viewed_by_hook") == [(n,)]
    kinds = dict(fixture_dbt.rows("select table_name, table_type from information_schema.tables"))
    assert kinds == {"viewed": "VIEW", "viewed_by_hook": "BASE TABLE"}
