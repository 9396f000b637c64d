"""seg3a.dbt_in_process.warm_macro_templates: the macros a build calls (what the nodes and
their materializations depend on, transitively, and the macros dbt calls by name) are
compiled into dbt's template cache before the seedpack coordinator forks; others are not."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from dbt_common.clients.jinja import template_cache

from seg3a.dbt_in_process import DBT_CALLED_MACROS, warm_macro_templates


@dataclass
class FakeMacro:
    unique_id: str
    name: str
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # a distinct body per macro: the cache is keyed by the macro's SQL
        self.macro_sql = f"{{% macro {self.name}() %}}{self.unique_id}{{% endmacro %}}"
        self.depends_on = SimpleNamespace(macros=self.calls)
        self.package_name = self.unique_id.split(".")[1]


class FakeManifest:
    """The parts of a dbt Manifest the warm-up reads."""

    def __init__(self, macros: list[FakeMacro], nodes: dict[str, tuple[str, list[str]]]) -> None:
        self.metadata = SimpleNamespace(project_name="proj", adapter_type="duckdb")
        self.macros = {m.unique_id: m for m in macros}
        self.nodes = {name: SimpleNamespace(depends_on=SimpleNamespace(macros=calls),
                                            get_materialization=lambda m=materialization: m)
                      for name, (materialization, calls) in nodes.items()}

    def find_materialization_macro_by_name(self, project_name, name, adapter_type):
        assert (project_name, adapter_type) == ("proj", "duckdb")
        return self.macros.get(f"macro.proj.materialization_{name}_duckdb")

    def find_macro_by_name(self, name, root_project_name, package):
        return next((m for m in self.macros.values() if m.name == name), None)


@pytest.fixture()
def empty_cache():
    saved = dict(template_cache.file_cache)
    template_cache.clear()
    yield template_cache.file_cache
    template_cache.clear()
    template_cache.file_cache.update(saved)


def test_compiles_what_a_build_calls_and_nothing_else(empty_cache):
    macros = [
        FakeMacro("macro.proj.materialization_table_duckdb", "materialization_table_duckdb", ["macro.dbt.statement"]),
        FakeMacro("macro.dbt.statement", "statement"),
        FakeMacro("macro.proj.location", "location", ["macro.proj.quote"]),
        FakeMacro("macro.proj.quote", "quote"),
        FakeMacro("macro.dbt.list_schemas", DBT_CALLED_MACROS[0], ["macro.dbt_duckdb.duckdb__list_schemas"]),
        FakeMacro("macro.dbt_duckdb.duckdb__list_schemas", "duckdb__list_schemas"),
        FakeMacro("macro.dbt.snapshot_unused", "snapshot_unused"),
    ]
    manifest = FakeManifest(macros, {"model.proj.a": ("table", ["macro.proj.location", "macro.proj.not_in_manifest"])})
    assert warm_macro_templates(manifest) == 6
    compiled = {m.unique_id for m in macros if m.macro_sql in empty_cache}
    assert compiled == {m.unique_id for m in macros} - {"macro.dbt.snapshot_unused"}


def test_a_compiled_template_is_the_one_dbt_uses(empty_cache):
    macro = FakeMacro("macro.proj.materialization_view_duckdb", "materialization_view_duckdb")
    manifest = FakeManifest([macro], {"model.proj.v": ("view", [])})
    warm_macro_templates(manifest)
    assert template_cache.get_node_template(macro) is empty_cache[macro.macro_sql]
