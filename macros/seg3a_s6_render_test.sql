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

{#
  seg3a_s6_proven_unique(node) -> {dataset, key} for a test declared
  `meta.seg3a_unique_key_of: <dataset id>`, else none: the test is "key `combination`
  occurs once in the dataset's published file", which the key-ordered checked write of
  S3/S4 proves for the bytes it wrote (int_s6__checks_evaluated takes that proof while
  the file still holds those bytes). Only an expect_combination_to_be_unique test
  without a row condition says exactly that; any other declared test fails compilation
  with E3A_S6_002_CATALOGUE_MALFORMED.
#}
{% macro seg3a_s6_proven_unique(node) -%}
    {%- set dataset = node.config.meta.get('seg3a_unique_key_of') -%}
    {%- if not dataset -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set kwargs = node.test_metadata.kwargs -%}
    {%- if node.test_metadata.name != 'expect_combination_to_be_unique' or kwargs.get('row_condition') -%}
        {{ exceptions.raise_compiler_error(
            "E3A_S6_002_CATALOGUE_MALFORMED: " ~ node.name ~ " declares seg3a_unique_key_of but is not a "
            ~ "uniqueness test of the whole file (expect_combination_to_be_unique without row_condition)") }}
    {%- endif -%}
    {{ return({'dataset': dataset, 'key': kwargs['combination']}) }}
{%- endmacro %}
