"""seg3a.dbt_in_process.remember_compiled_templates / warm_node_templates: dbt's Jinja
environments reuse the compiled code of a template string, and a template rendered from
remembered code gives what a freshly compiled one gives, whatever the context."""
from __future__ import annotations

from types import SimpleNamespace

import jinja2
import pytest
from dbt_common.clients.jinja import get_template, render_template

from seg3a import dbt_in_process
from seg3a.dbt_in_process import PYTHON_MODEL_POSTFIX, remember_compiled_templates, warm_node_templates


@pytest.fixture()
def remembered(monkeypatch):
    """The memo installed on an empty table over a compile that records each source that
    reaches Jinja; the environment class as it was afterwards (the memo is per process)."""
    from dbt_common.clients.jinja import MacroFuzzEnvironment

    monkeypatch.setattr(dbt_in_process, "_TEMPLATE_CODE", {})
    compiled = []
    jinja_compile = jinja2.Environment.compile

    def recording(self, source, *args, **kwargs):
        compiled.append(source)
        return jinja_compile(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", recording)
    before = MacroFuzzEnvironment.__dict__.get("compile")
    if before is not None:
        del MacroFuzzEnvironment.compile
    remember_compiled_templates()
    yield compiled
    del MacroFuzzEnvironment.compile
    if before is not None:
        MacroFuzzEnvironment.compile = before


def render(source: str, context: dict, native: bool = False):
    return render_template(get_template(source, context, native=native), context)


def test_a_source_is_compiled_once_and_rendered_in_each_context(remembered):
    source = "select {{ column }} from {{ table }}"
    assert render(source, {"column": "a", "table": "t"}) == "select a from t"
    assert render(source, {"column": "b", "table": "u"}) == "select b from u"
    assert remembered == [source]


def test_text_and_native_environments_keep_their_own_code(remembered):
    source = "{{ value }}"
    for _ in range(2):
        assert render(source, {"value": 2}) == "2"
        assert render(source, {"value": 2}, native=True) == 2
    assert remembered == [source, source]


def test_a_template_that_does_not_compile_is_refused_each_time(remembered):
    for _ in range(2):
        with pytest.raises(Exception, match="unexpected"):
            get_template("{{ select }", {})
    assert len(remembered) == 2
    assert dbt_in_process._TEMPLATE_CODE == {}


def test_the_memo_is_bounded(remembered, monkeypatch):
    monkeypatch.setattr(dbt_in_process, "TEMPLATE_CODE_LIMIT", 2)
    for number in range(5):
        assert render(f"{{{{ {number} }}}}", {}) == str(number)
    assert len(dbt_in_process._TEMPLATE_CODE) <= 2


def test_installing_twice_keeps_one_memo(remembered):
    from dbt_common.clients.jinja import MacroFuzzEnvironment

    installed = MacroFuzzEnvironment.compile
    remember_compiled_templates()
    assert MacroFuzzEnvironment.compile is installed


def test_warm_up_compiles_the_sql_nodes_and_the_python_postfix(remembered):
    nodes = {
        "model.p.a": SimpleNamespace(language="sql", raw_code="select {{ ref('b') }}"),
        "model.p.b": SimpleNamespace(language="python", raw_code="def model(dbt, session): ..."),
        "test.p.c": SimpleNamespace(language="sql", raw_code="select 1 where {{ 1 }} = 0"),
        "seed.p.d": SimpleNamespace(language="sql", raw_code=""),
    }
    assert warm_node_templates(SimpleNamespace(nodes=nodes)) == 3
    assert sorted(remembered) == sorted(["select {{ ref('b') }}", "select 1 where {{ 1 }} = 0", PYTHON_MODEL_POSTFIX])
    render("select {{ ref('b') }}", {"ref": lambda name: f'"{name}"'})
    assert len(remembered) == 3  # dbt's own rendering of the node finds it compiled
