{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'checks'}) }}
-- depends_on: {{ ref('int_s6__inputs_verified') }}
-- One row per S6 data test: its check and its SQL, rendered from the test's own macro
-- and YAML arguments with the `int_s6__*_read` models inlined (seg3a_s6_render_test).
-- `shared_inputs`: the inlined selects of the inputs several queries parse
-- (seg3a_s6_shared_inputs) that occur in the query, as a JSON object {input: inlined
-- select}; int_s6__checks_evaluated reads each such select once.
-- This model must not ref the read models: dbt skips every descendant of a failed test,
-- and the report of a FAIL verdict must still be published.
with

s6_tests as (
    {%- set tests = seg3a_s6_test_nodes() %}
    {%- set shared = seg3a_s6_shared_inputs() %}
    {%- for node in tests %}
    {%- set query = seg3a_s6_render_test(node) %}
    {%- set used = {} %}
    {%- for input, inlined in shared.items() if inlined in query %}
    {%- do used.update({input: inlined}) %}
    {%- endfor %}
    {%- set proven = seg3a_s6_proven_unique(node) %}
    select
        '{{ node.name }}' as test_name,
        '{{ node.config.meta.seg3a_check_id }}' as check_id,
        '{{ query | replace("'", "''") }}' as query,
        '{{ tojson(used, sort_keys=true) | replace("'", "''") }}' as shared_inputs,
        '{{ (tojson(proven, sort_keys=true) if proven else '') | replace("'", "''") }}' as proven_unique
    {{ 'union all' if not loop.last }}
    {%- endfor %}
    {%- if not tests %}
    select
        cast(null as varchar) as test_name,
        cast(null as varchar) as check_id,
        cast(null as varchar) as query,
        cast(null as varchar) as shared_inputs,
        cast(null as varchar) as proven_unique
    where false
    {%- endif %}
)

select * from s6_tests
order by test_name
