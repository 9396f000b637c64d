"""seg3a.dbt_in_process.remember_injected_ctes: dbt's injection of ephemeral CTEs into a
model's SQL is remembered per SQL, CTEs and sqlparse limits, and gives what dbt gives."""
from __future__ import annotations

import dbt.compilation as compilation
import pytest
import sqlparse.engine.grouping as grouping
from dbt.artifacts.resources.v1.components import InjectedCTE

from seg3a import dbt_in_process
from seg3a.dbt_in_process import remember_injected_ctes

SQL = "with mine as (select * from t) select * from mine"
CTES = [InjectedCTE(id="model.p.e", sql="__dbt__cte__e as (select 1 as x)")]


@pytest.fixture()
def injections(monkeypatch):
    """The memo installed, empty, over dbt's function, recording each call that reaches it."""
    monkeypatch.setattr(dbt_in_process, "_INJECTED_SQL", {})
    calls = []
    dbts = compilation.inject_ctes_into_sql

    def recording(sql, ctes):
        calls.append((sql, [cte.id for cte in ctes]))
        return dbts(sql, ctes)

    monkeypatch.setattr(compilation, "inject_ctes_into_sql", recording)
    remember_injected_ctes()
    assert compilation.inject_ctes_into_sql is not recording
    yield calls
    # monkeypatch puts dbt's function back


def test_the_same_sql_and_ctes_are_injected_once(injections):
    expected = "with __dbt__cte__e as (select 1 as x), mine as (select * from t) select * from mine"
    assert compilation.inject_ctes_into_sql(SQL, CTES) == expected
    assert compilation.inject_ctes_into_sql(SQL, list(CTES)) == expected
    assert len(injections) == 1


def test_other_ctes_other_sql_and_other_limits_are_injected_again(injections, monkeypatch):
    compilation.inject_ctes_into_sql(SQL, CTES)
    other = [InjectedCTE(id="model.p.e", sql="__dbt__cte__e as (select 2 as x)")]
    assert "select 2 as x" in compilation.inject_ctes_into_sql(SQL, other)
    assert compilation.inject_ctes_into_sql(SQL + " where 1 = 1", CTES).endswith("where 1 = 1")
    monkeypatch.setattr(grouping, "MAX_GROUPING_TOKENS", 5)
    with pytest.raises(Exception, match="tokens exceeded"):
        compilation.inject_ctes_into_sql(SQL, CTES)  # as dbt would under that limit
    with pytest.raises(Exception, match="tokens exceeded"):
        compilation.inject_ctes_into_sql(SQL, CTES)  # a failure is not remembered
    assert len(injections) == 5


def test_installing_twice_keeps_one_memo(injections):
    installed = compilation.inject_ctes_into_sql
    remember_injected_ctes()
    assert compilation.inject_ctes_into_sql is installed
