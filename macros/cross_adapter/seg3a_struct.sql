{#
  seg3a_struct(name, value, name, value, ...) -> SQL STRUCT expression with the given
  field names (string literals) and values (SQL expressions).
  DuckDB: {'name': value, ...}; Spark: named_struct('name', value, ...).
#}
{% macro seg3a_struct() -%}
    {{ return(adapter.dispatch('seg3a_struct', 'seg3a')(varargs)) }}
{%- endmacro %}

{% macro default__seg3a_struct(parts) -%}
{
    {%- for i in range(0, parts | length, 2) %}{{ parts[i] }}: {{ parts[i + 1] }}{{ ', ' if not loop.last }}{% endfor -%}
}
{%- endmacro %}

{% macro spark__seg3a_struct(parts) -%}
named_struct({{ parts | join(', ') }})
{%- endmacro %}
