{#
  seg3a_raise(message) -> SQL expression that fails the query with `message` (a SQL
  VARCHAR expression, starting with the E3A code). DuckDB: error(); Spark: raise_error().
#}
{% macro seg3a_raise(message) -%}
    {{ return(adapter.dispatch('seg3a_raise', 'seg3a')(message)) }}
{%- endmacro %}

{% macro default__seg3a_raise(message) -%}
error({{ message }})
{%- endmacro %}

{% macro spark__seg3a_raise(message) -%}
raise_error({{ message }})
{%- endmacro %}
