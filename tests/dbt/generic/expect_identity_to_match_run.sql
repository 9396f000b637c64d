{#
  One issue when any row of the model has an identity field distinct from the run's:
  `expected` maps each column to an SQL expression (e.g. seg3a_run_id()).
  Every differing field of every row adds one to the count in the details
  (`mismatched_fields=<n>`, 04 §2.3 idm_ev / idm_tr).
#}
{% test expect_identity_to_match_run(model, expected, issue_code, message, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

mismatched_fields as (
    select
        coalesce(sum(
            {%- for column, value in expected | dictsort %}
            cast(
                cast({{ column }} as varchar) is distinct from cast({{ value }} as varchar) as bigint
            ){{ ' +' if not loop.last }}
            {%- endfor %}
        ), 0) as mismatch_count
    from {{ model }}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'mismatched_fields', issue_code, message,
        details="'mismatched_fields=' || mismatch_count",
        row_condition='mismatch_count > 0'
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
