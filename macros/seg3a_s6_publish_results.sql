{#
  seg3a_s6_publish_results(results) -> SQL for dbt's on-run-end hook: after `dbt test`,
  the S6 publication (spec 04 §2.4).

  1. Takes every S6 test of this invocation from `results` (status, message) and unions
     their stored failures (each S6 test sets store_failures) into issue rows.
  2. Passes both to the s3a_s6_publish UDF, which judges the preconditions, aggregates
     the 12 checks, publishes report, issue table and receipt write-once and writes the
     S6 run report (PASS, or FAIL with its E3A_S6 code).
  3. Refreshes the S6 relations from what was published (s6_run_report_3A always; the
     report, issue table and receipt when they exist), so the DuckDB file and S7's
     dependency on `s6_run_report_3A` see this run as after `dbt build`.
  A run failure (E3A_S6_*) fails the hook with its code; a FAIL verdict does not (the
  failing tests already fail the invocation). In `dbt build` the S6 models publish
  inside the DAG, so the hook acts only for `dbt test` on DuckDB, and only when the S6
  precondition test was selected.
#}
{% macro seg3a_s6_publish_results(results) -%}
    {%- set tests = [] -%}
    {%- set stored = [] -%}
    {%- set selected = [] -%}
    {%- if execute and target.type == 'duckdb' and flags.WHICH == 'test' -%}
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
        {%- set found = run_query("select count(distinct function_name) from duckdb_functions() "
                                  ~ "where function_name = 's3a_s6_publish'").columns[0].values()[0] -%}
        {%- if found == 0 -%}
            {{ exceptions.raise_compiler_error(
                "E3A_S6_002_CATALOGUE_MALFORMED: the S6 SQL functions are not registered; list "
                ~ "`- module: seg3a.states.s6_plugin` in the profile's plugins") }}
        {%- endif -%}
    {%- endif -%}
    {%- if not selected -%}
        select 'seg3a: no S6 validation in this invocation' as seg3a_s6_publication
    {%- else -%}
        {%- set publication -%}
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
            )

            select s3a_s6_publish(
                '{{ tests | tojson | replace("'", "''") }}',
                (select coalesce(cast(to_json(list(stored_failures)) as varchar), '[]') from stored_failures),
                seg3a_run_root()
            ) as outcome
        {%- endset -%}
        {%- set outcome = run_query(publication).columns[0].values()[0] -%}
        {%- do seg3a_s6_refresh_relations(not outcome.startswith('E3A_S6_')) -%}
        {%- if outcome.startswith('E3A_S6_') -%}
            select error('{{ outcome | replace("'", "''") }}') as seg3a_s6_publication
        {%- else -%}
            select '{{ outcome }}' as seg3a_s6_publication
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
