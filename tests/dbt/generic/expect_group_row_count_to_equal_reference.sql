{#
  One issue per group of the model whose number of rows differs from the number of
  distinct `reference_count_column` values of `reference` on the matching
  `reference_keys` (0 when none match): S3/S4 rows per pair against |Z(c)| from S2,
  an unknown country counting as zero zones. Details `rows=<n>,zones=<k>`.
#}
{% test expect_group_row_count_to_equal_reference(model, group_by, join_keys, reference, reference_keys,
                                                  reference_count_column, issue_code, message, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

model_groups as (
    select
        {{ group_by | join(',\n        ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ group_by | join(', ') }}
),

reference_counts as (
    select
        {{ reference_keys | join(',\n        ') }},
        count(distinct {{ reference_count_column }}) as expected_count
    from {{ seg3a_s6_relation(reference, inline) }}
    group by {{ reference_keys | join(', ') }}
),

groups_compared as (
    select
        model_groups.*,
        coalesce(reference_counts.expected_count, 0) as expected_count
    from model_groups
    left join reference_counts
        on {% for key in join_keys -%}
            model_groups.{{ key }} = reference_counts.{{ reference_keys[loop.index0] }}{{ ' and ' if not loop.last }}
        {%- endfor %}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'groups_compared', issue_code, message,
        entity=seg3a_s6_entity_columns(group_by),
        details="'rows=' || row_count || ',zones=' || expected_count",
        row_condition='row_count <> expected_count'
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
