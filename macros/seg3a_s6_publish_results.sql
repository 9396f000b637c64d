{#
  seg3a_s6_publish_results(results) -> SQL for dbt's on-run-end hook: after `dbt test`,
  the S6 publication (spec 04 §2.4). Takes every S6 test of this invocation from
  `results` (status, message), unions their stored failures (each S6 test sets
  store_failures) into issue rows, and passes both to the s3a_s6_publish UDF, which
  judges the preconditions, aggregates the 12 checks, publishes report, issue table and
  receipt write-once and writes the S6 run report. A run failure (E3A_S6_*) fails the
  hook with its code; a FAIL verdict does not (the failing tests already fail the
  invocation). In `dbt build` the S6 models publish inside the DAG, so the hook only
  acts for `dbt test`, and only when the S6 precondition test was selected.
#}
{% macro seg3a_s6_publish_results(results) -%}
    {%- set tests = [] -%}
    {%- set stored = [] -%}
    {%- set selected = [] -%}
    {%- if execute and flags.WHICH == 'test' -%}
        {%- for result in results if result.node.resource_type == 'test' -%}
            {%- set meta = result.node.config.meta or {} -%}
            {%- set status = result.status | string -%}
            {%- if meta.get('seg3a_s6_role') == 'preconditions' -%}
                {%- do selected.append(status) -%}
            {%- elif meta.get('seg3a_check_id') -%}
                {%- do tests.append({'name': result.node.name, 'check_id': meta.get('seg3a_check_id'),
                                     'status': status, 'message': result.message or ''}) -%}
                {%- if status in ('pass', 'fail', 'warn') -%}
                    {%- do stored.append((result.node.name, result.node.relation_name)) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if selected -%}
        with

        stored_failures as (
            {%- for name, relation in stored %}
            select
                '{{ name }}' as test_name,
                issue_code,
                merchant_id,
                legal_country_iso,
                tzid,
                message,
                details,
                affected_count
            from {{ relation }}
            union all
            {%- endfor %}
            select
                null as test_name,
                null as issue_code,
                null as merchant_id,
                null as legal_country_iso,
                null as tzid,
                null as message,
                null as details,
                null as affected_count
            where false
        ),

        publication as (
            select s3a_s6_publish(
                '{{ tests | tojson | replace("'", "''") }}',
                (select coalesce(cast(to_json(list(stored_failures)) as varchar), '[]') from stored_failures),
                getvariable('seg3a_run_root')
            ) as outcome
        )

        select
            case
                when outcome like 'E3A_S6_%' then error(outcome)
                else outcome
            end as seg3a_s6_publication
        from publication
    {%- else -%}
        select 'seg3a: no S6 validation in this invocation' as seg3a_s6_publication
    {%- endif -%}
{%- endmacro %}
