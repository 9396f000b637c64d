{#
  Materialization `seg3a_stored_table` (SQL models whose rows depend only on reference
  data, a rule contract and their own code: the Z(c) overlay, zone_universe_candidates).
  The rows are computed once per identity of those inputs and kept as Parquet outside the
  run's database, `build/zone-universe-cache/<key>/<model>.parquet` (seg3a.zones.cache
  says what the key digests). A build whose key is stored creates the table from that
  file and says so in one log line; otherwise it runs the model's SQL, writes the file
  under a name of this invocation and renames it into place (atomic), so concurrent
  builds and other databases read a whole file or none.
  SEG3A_ZONE_UNIVERSE_REBUILD=1 recomputes and replaces the stored file. The table steps
  (existing view, hooks, enforced contract, commit) are seg3a_table's
  (macros/materializations/seg3a_table_steps.sql).
#}
{% materialization seg3a_stored_table, adapter='duckdb', supported_languages=['sql'] %}
    {%- set target_relation = seg3a_table_begin() -%}
    {%- set lookup = run_query(
        "select path, s3a_stored_file_reusable(path) from (select s3a_stored_file("
        ~ "seg3a_run_root(), '" ~ this.identifier ~ "') as path)") -%}
    {%- set stored_file = lookup.rows[0][0] -%}
    {%- set reusable = lookup.rows[0][1] -%}
    {%- set staged_file = stored_file ~ '.' ~ invocation_id ~ '.tmp' -%}

    {%- call statement('main') -%}
        {%- if reusable %}
        {{ seg3a_create_table(target_relation, "select * from read_parquet('" ~ stored_file ~ "')") }}
        {%- else %}
        {{ seg3a_create_table(target_relation, compiled_code) }}
        copy {{ target_relation }} to '{{ staged_file }}' (format parquet, compression zstd);
        select s3a_publish_stored_file('{{ staged_file }}', '{{ stored_file }}');
        {%- endif %}
    {%- endcall -%}

    {%- if reusable -%}
        {{ log(this.identifier ~ ": reused " ~ stored_file
               ~ " (reference data and rule unchanged; SEG3A_ZONE_UNIVERSE_REBUILD=1 recomputes it)", info=True) }}
    {%- else -%}
        {{ log(this.identifier ~ ": computed and stored as " ~ stored_file, info=True) }}
    {%- endif -%}

    {{ seg3a_table_end() }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
