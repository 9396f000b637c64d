{#
  seg3a_report_failed_states(results) -> SQL for dbt's on-run-end hook.
  Passes every node of this `dbt build` / `dbt run` that errored, failed or was skipped
  (name, resource type, status, message, tags, meta.seg3a_phase) to the
  s3a_report_failed_states UDF, which writes the FAIL run report and the
  segment_state_runs row of each state S1..S7 among them (seg3a.states.common). Returns
  a harmless select when nothing failed, the command is not build/run, or the target is
  not DuckDB (the Spark waves of `seg3a build --target spark`, whose failures the
  command reports and whose states' reports the DuckDB phases write). Writing a
  report never fails the invocation, so the macro raises no E3A code of its own.
#}
{% macro seg3a_report_failed_states(results) -%}
    {%- set outcomes = [] -%}
    {%- if execute and target.type == 'duckdb' and flags.WHICH in ('build', 'run') -%}
        {%- for result in results -%}
            {%- set status = result.status | string -%}
            {%- if status in ('error', 'fail', 'skipped', 'runtime error') -%}
                {%- do outcomes.append({
                    'name': result.node.name,
                    'resource_type': result.node.resource_type | string,
                    'status': status,
                    'message': result.message or '',
                    'tags': result.node.tags | list,
                    'phase': (result.node.config.meta or {}).get('seg3a_phase'),
                }) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if outcomes -%}
        select s3a_report_failed_states(
            '{{ outcomes | tojson | replace("'", "''") }}',
            seg3a_run_root()
        ) as seg3a_failed_states
    {%- else -%}
        select 'seg3a: no failed state' as seg3a_failed_states
    {%- endif -%}
{%- endmacro %}
