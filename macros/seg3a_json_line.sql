{#
  seg3a_json_line(fields) -> SQL VARCHAR expression: one JSON-Lines record ending in LF,
  laid out as spec 03 §2 requires (keys sorted by code point, ", " and ": " separators,
  numbers in DuckDB's shortest round-trip text, which equals Python's float repr).
  fields: mapping key -> [kind, sql_expression], kind in
    number  cast to text; SQL NULL prints null
    string  double-quoted without escaping; SQL NULL prints null. Callers pass ASCII
            values without quotes or backslashes (hex ids, ISO codes, timestamps,
            constants); the RNG log validation checks every value against its anchor.
    null    always null
  An unknown kind fails compilation with E3A_S3_002_CATALOGUE_MALFORMED.
  Rendered as one variadic concat(): a chain of || would build every intermediate
  string, about twice the work for a 21-field line.
#}
{% macro seg3a_json_line(fields) -%}
    {%- set parts = [] -%}
    {%- for key, spec in fields | dictsort(true) -%}
        {%- set kind = spec[0] -%}
        {%- if kind == 'number' -%}
            {%- set value = "coalesce(cast(" ~ spec[1] ~ " as varchar), 'null')" -%}
        {%- elif kind == 'string' -%}
            {%- set value = "coalesce('\"' || " ~ spec[1] ~ " || '\"', 'null')" -%}
        {%- elif kind == 'null' -%}
            {%- set value = "'null'" -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("E3A_S3_002_CATALOGUE_MALFORMED: seg3a_json_line has no kind " ~ kind) }}
        {%- endif -%}
        {%- do parts.append("'" ~ ('{' if loop.first else ', ') ~ '"' ~ key ~ '": ' ~ "'") -%}
        {%- do parts.append(value) -%}
    {%- endfor -%}
    concat({{ parts | join(', ') }}, '}', chr(10))
{%- endmacro %}
