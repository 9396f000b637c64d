{#
  seg3a_s6_refresh_relations(published) -> nothing; runs statements. After the `dbt test`
  publication, replaces the S6 model relations by what is on disk: s6_run_report_3A
  from the run report (always written), and, when `published`, s6_validation_report_3A
  (one row per check), s6_issue_table_3A (the issues) and s6_receipt_3A (one row), the
  same columns the S6 models build. Relations of models the graph lacks are skipped.
  No E3A failure of its own (a read fault surfaces as a hook error).
#}
{% macro seg3a_s6_refresh_relations(published) -%}
    {#- the run report's counts, in the key order of its JSON (sorted) -#}
    {%- set count_keys = ['issues_error', 'issues_total', 'issues_warn', 'pairs_escalated', 'pairs_total', 's3_pairs',
                          's3_rows', 's4_pairs', 's4_rows', 'zone_alloc_rows'] -%}
    {%- set counts_type = 'STRUCT(' ~ count_keys | join(' BIGINT, ') ~ ' BIGINT)' -%}
    {%- set selects = {
        's6_run_report_3A': "select status, overall_status, error_code, unnest(counts) from read_json("
            ~ seg3a_location('s6_run_report_3A') ~ ", format = 'auto', hive_partitioning = false, "
            ~ "columns = {status: 'VARCHAR', "
            ~ "overall_status: 'VARCHAR', error_code: 'VARCHAR', counts: '" ~ counts_type ~ "'})",
    } -%}
    {%- if published -%}
        {%- do selects.update({
            's6_validation_report_3A': "select check_entry.check_id, check_entry.status, check_entry.severity, "
                ~ "cast(check_entry.affected_count as bigint) as affected_count, check_entry.notes "
                ~ "from (select unnest(checks) "
                ~ "as check_entry from read_json(" ~ seg3a_location('s6_validation_report_3A')
                ~ ", format = 'auto', hive_partitioning = false))",
            's6_issue_table_3A': "select * from read_parquet(" ~ seg3a_location('s6_issue_table_3A')
                ~ ", hive_partitioning = false)",
            's6_receipt_3A': "select manifest_fingerprint, s6_version, overall_status, checks_passed_count, "
                ~ "checks_failed_count, checks_warn_count, validation_report_digest, issue_table_digest from "
                ~ "read_json(" ~ seg3a_location('s6_receipt_3A') ~ ", format = 'auto', hive_partitioning = false)",
        }) -%}
    {%- endif -%}
    {%- for name in ['s6_validation_report_3A', 's6_issue_table_3A', 's6_receipt_3A', 's6_run_report_3A'] -%}
        {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ name) -%}
        {%- if node is not none and node.relation_name -%}
            {%- do run_query('drop table if exists ' ~ node.relation_name) -%}
            {%- if name in selects -%}
                {%- do run_query('create table ' ~ node.relation_name ~ ' as ' ~ selects[name]) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
