{#
  seg3a_s6_relation(name, inline=false) -> the relation an S6 test reads for the model
  `name`: `ref(name)` when dbt runs the test, or, with inline=true, the model's select
  itself, for the S6 build models and the status-consistency check, which must not
  depend on the tested `int_s6__<input>_read` models (a failed test would skip them).
  Inlining is defined for the read models only; any other name with inline=true fails
  compilation with E3A_S6_002_CATALOGUE_MALFORMED.
#}
{% macro seg3a_s6_relation(name, inline=false) -%}
    {%- if not inline -%}
        {{ ref(name) }}
    {%- elif name.startswith('int_s6__') and name.endswith('_read') -%}
        ({{ seg3a_s6_read(name[8:-5]) }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("E3A_S6_002_CATALOGUE_MALFORMED: cannot inline " ~ name) }}
    {%- endif -%}
{%- endmacro %}
