{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'checks'}) }}
-- depends_on: {{ ref('int_s6__inputs_verified') }}
-- One row per S6 data test: its check and its SQL, rendered from the test's own macro
-- and YAML arguments with the `int_s6__*_read` models inlined (seg3a_s6_render_test).
-- This model must not ref the read models: dbt skips every descendant of a failed test,
-- and the report of a FAIL verdict must still be published.
with

s6_tests as (
    {%- set tests = seg3a_s6_test_nodes() %}
    {%- for node in tests %}
    select
        '{{ node.name }}' as test_name,
        '{{ node.config.meta.seg3a_check_id }}' as check_id,
        '{{ seg3a_s6_render_test(node) | replace("'", "''") }}' as query
    {{ 'union all' if not loop.last }}
    {%- endfor %}
    {%- if not tests %}
    select
        cast(null as varchar) as test_name,
        cast(null as varchar) as check_id,
        cast(null as varchar) as query
    where false
    {%- endif %}
)

select * from s6_tests
order by test_name
