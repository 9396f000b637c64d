{#
  seg3a_list_element(list, index) -> SQL expression: the element of `list` at the
  0-based `index`. DuckDB: list[index + 1]; Spark: element_at(list, int(index) + 1)
  (Spark's element_at takes an int position).
#}
{% macro seg3a_list_element(list, index) -%}
    {{ return(adapter.dispatch('seg3a_list_element', 'seg3a')(list, index)) }}
{%- endmacro %}

{% macro default__seg3a_list_element(list, index) -%}
{{ list }}[{{ index }} + 1]
{%- endmacro %}

{% macro spark__seg3a_list_element(list, index) -%}
element_at({{ list }}, cast({{ index }} as int) + 1)
{%- endmacro %}
