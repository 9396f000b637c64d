{#
  seg3a_s6_render_test(node) -> SQL of one S6 generic test (a graph node of
  seg3a_s6_test_nodes) with its tested model and every relation argument inlined: the
  test's own macro, called with the arguments of its YAML, so the S6 build models
  evaluate exactly what `dbt test` evaluates. Arguments are plain values (model names,
  column lists, SQL expressions), never Jinja. A test whose macro cannot be found fails
  compilation with E3A_S6_003_CHECK_EXECUTION_FAILED.
#}
{% macro seg3a_s6_render_test(node) -%}
    {%- set test_macro = context.get('test_' ~ node.test_metadata.name) -%}
    {%- if test_macro is none -%}
        {{ exceptions.raise_compiler_error(
            "E3A_S6_003_CHECK_EXECUTION_FAILED: no generic test " ~ node.test_metadata.name) }}
    {%- endif -%}
    {%- set arguments = {} -%}
    {%- for key, value in node.test_metadata.kwargs.items() if key != 'model' -%}
        {%- do arguments.update({key: value}) -%}
    {%- endfor -%}
    {%- set tested = graph.nodes[node.attached_node].name -%}
    {%- do arguments.update({'model': seg3a_s6_relation(tested, inline=true), 'inline': true}) -%}
    {{ test_macro(**arguments) }}
{%- endmacro %}
