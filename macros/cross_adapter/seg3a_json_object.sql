{#
  seg3a_json_object(key, value, key, value, ...) -> SQL VARCHAR expression: a compact JSON
  object of the given keys (string literals) and values (SQL expressions). Used for the
  context of error messages only, never for an output. DuckDB: json_object(...)::varchar;
  Spark: to_json(named_struct(...)).
#}
{% macro seg3a_json_object() -%}
    {{ return(adapter.dispatch('seg3a_json_object', 'seg3a')(varargs)) }}
{%- endmacro %}

{% macro default__seg3a_json_object(parts) -%}
json_object({{ parts | join(', ') }})::varchar
{%- endmacro %}

{% macro spark__seg3a_json_object(parts) -%}
to_json(named_struct({{ parts | join(', ') }}))
{%- endmacro %}
