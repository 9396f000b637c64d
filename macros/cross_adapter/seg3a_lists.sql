{#
  List idioms of the per-pair models, one macro each (DuckDB spelling | Spark spelling):
    seg3a_list(value)          aggregate, any order  list(v)          | collect_list(v)
    seg3a_unnest(list)         one row per element   unnest(l)        | explode(l)
    seg3a_len(list)            element count         len(l)           | size(l)
    seg3a_list_min(list)       smallest element      list_min(l)      | array_min(l)
    seg3a_list_max(list)       largest element       list_max(l)      | array_max(l)
    seg3a_list_scaled(list, f) each element times f  list_transform   | transform
  (ordered aggregation: seg3a_list_ordered)
#}
{% macro seg3a_list(value) -%}
    {{ return(adapter.dispatch('seg3a_list', 'seg3a')(value)) }}
{%- endmacro %}
{% macro default__seg3a_list(value) %}list({{ value }}){% endmacro %}
{% macro spark__seg3a_list(value) %}collect_list({{ value }}){% endmacro %}

{% macro seg3a_unnest(list) -%}
    {{ return(adapter.dispatch('seg3a_unnest', 'seg3a')(list)) }}
{%- endmacro %}
{% macro default__seg3a_unnest(list) %}unnest({{ list }}){% endmacro %}
{% macro spark__seg3a_unnest(list) %}explode({{ list }}){% endmacro %}

{% macro seg3a_len(list) -%}
    {{ return(adapter.dispatch('seg3a_len', 'seg3a')(list)) }}
{%- endmacro %}
{% macro default__seg3a_len(list) %}len({{ list }}){% endmacro %}
{% macro spark__seg3a_len(list) %}size({{ list }}){% endmacro %}

{% macro seg3a_list_min(list) -%}
    {{ return(adapter.dispatch('seg3a_list_min', 'seg3a')(list)) }}
{%- endmacro %}
{% macro default__seg3a_list_min(list) %}list_min({{ list }}){% endmacro %}
{% macro spark__seg3a_list_min(list) %}array_min({{ list }}){% endmacro %}

{% macro seg3a_list_max(list) -%}
    {{ return(adapter.dispatch('seg3a_list_max', 'seg3a')(list)) }}
{%- endmacro %}
{% macro default__seg3a_list_max(list) %}list_max({{ list }}){% endmacro %}
{% macro spark__seg3a_list_max(list) %}array_max({{ list }}){% endmacro %}

{% macro seg3a_list_scaled(list, factor) -%}
    {{ return(adapter.dispatch('seg3a_list_scaled', 'seg3a')(list, factor)) }}
{%- endmacro %}
{% macro default__seg3a_list_scaled(list, factor) %}list_transform({{ list }}, lambda element: element * ({{ factor }})){% endmacro %}
{% macro spark__seg3a_list_scaled(list, factor) %}transform({{ list }}, element -> element * ({{ factor }})){% endmacro %}
