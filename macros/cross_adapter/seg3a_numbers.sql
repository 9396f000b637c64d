{#
  Numeric idioms of the per-pair models, one macro each:
    seg3a_isfinite(x)     DOUBLE x is neither NaN nor infinite (Spark has no isfinite)
    seg3a_int_div(a, b)   integer division of non-negative integers, a // b on DuckDB;
                          on Spark a UBIGINT is decimal(20,0), whose quotient is floored
                          exactly (Spark's `div` would narrow it to a signed bigint)
    seg3a_u128_advanced(before_hi, before_lo, blocks, after_hi, after_lo)
                          the 128-bit counter (after_hi, after_lo) equals (before_hi,
                          before_lo) + blocks; DuckDB computes it in UHUGEINT, Spark (no
                          128-bit integers) as the low word modulo 2^64 plus the carry
                          into the high word, in exact decimals
#}
{% macro seg3a_isfinite(x) -%}
    {{ return(adapter.dispatch('seg3a_isfinite', 'seg3a')(x)) }}
{%- endmacro %}
{% macro default__seg3a_isfinite(x) %}isfinite({{ x }}){% endmacro %}
{% macro spark__seg3a_isfinite(x) %}(not isnan({{ x }}) and abs({{ x }}) != double('infinity')){% endmacro %}

{% macro seg3a_int_div(a, b) -%}
    {{ return(adapter.dispatch('seg3a_int_div', 'seg3a')(a, b)) }}
{%- endmacro %}
{% macro default__seg3a_int_div(a, b) %}(({{ a }}) // ({{ b }})){% endmacro %}
{% macro spark__seg3a_int_div(a, b) %}cast(floor(cast({{ a }} as decimal(20,0)) / ({{ b }})) as decimal(20,0)){% endmacro %}

{% macro seg3a_u128_advanced(before_hi, before_lo, blocks, after_hi, after_lo) -%}
    {{ return(adapter.dispatch('seg3a_u128_advanced', 'seg3a')(before_hi, before_lo, blocks, after_hi, after_lo)) }}
{%- endmacro %}
{% macro default__seg3a_u128_advanced(before_hi, before_lo, blocks, after_hi, after_lo) -%}
((cast({{ after_hi }} as uhugeint) << 64) | cast({{ after_lo }} as uhugeint))
            = ((cast({{ before_hi }} as uhugeint) << 64) | cast({{ before_lo }} as uhugeint))
            + cast({{ blocks }} as uhugeint)
{%- endmacro %}
{% macro spark__seg3a_u128_advanced(before_hi, before_lo, blocks, after_hi, after_lo) -%}
    {%- set two_64 = 'cast(18446744073709551616 as decimal(21,0))' -%}
({{ after_lo }} = pmod({{ before_lo }} + {{ blocks }}, {{ two_64 }})
            and {{ after_hi }} = {{ before_hi }} + floor(({{ before_lo }} + {{ blocks }}) / {{ two_64 }}))
{%- endmacro %}
