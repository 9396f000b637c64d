{#
  seg3a_unnest_structs(list_of_structs) -> SQL select item: one row per element of the
  list, one column per struct field. DuckDB: unnest(x, recursive := true); Spark: inline(x).
#}
{% macro seg3a_unnest_structs(list_of_structs) -%}
    {{ return(adapter.dispatch('seg3a_unnest_structs', 'seg3a')(list_of_structs)) }}
{%- endmacro %}

{% macro default__seg3a_unnest_structs(list_of_structs) -%}
unnest({{ list_of_structs }}, recursive := true)
{%- endmacro %}

{% macro spark__seg3a_unnest_structs(list_of_structs) -%}
inline({{ list_of_structs }})
{%- endmacro %}
