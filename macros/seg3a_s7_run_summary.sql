{#
  seg3a_s7_run_summary() -> SQL for dbt's on-run-end hook.
  After a `dbt build` / `dbt run`, prints the human-readable summary of the selected run
  (status, time and counts per state, whether the segment is sealed, where the outputs
  are) through the s3a_run_summary UDF (seg3a.states.summary.on_run_end). The summary
  never fails the invocation, so the macro raises no E3A code of its own.
#}
{% macro seg3a_s7_run_summary() -%}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        select s3a_run_summary(seg3a_run_root()) as seg3a_run_summary
    {%- else -%}
        select 'seg3a: no summary' as seg3a_run_summary
    {%- endif -%}
{%- endmacro %}
