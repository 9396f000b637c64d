{#
  seg3a_list_ordered(value, order_key) -> SQL aggregate: the list of `value` over the
  group, in ascending `order_key` (unique within the group).
  DuckDB: list(value order by order_key). Spark has no ordered aggregate: the
  (key, value) structs are collected, sorted, and the values taken.
#}
{% macro seg3a_list_ordered(value, order_key) -%}
    {{ return(adapter.dispatch('seg3a_list_ordered', 'seg3a')(value, order_key)) }}
{%- endmacro %}

{% macro default__seg3a_list_ordered(value, order_key) -%}
list({{ value }} order by {{ order_key }})
{%- endmacro %}

{% macro spark__seg3a_list_ordered(value, order_key) -%}
transform(array_sort(collect_list(named_struct('k', {{ order_key }}, 'v', {{ value }}))), entry -> entry.v)
{%- endmacro %}
