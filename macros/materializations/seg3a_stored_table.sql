{#
  Materialization `seg3a_stored_table` (SQL models whose rows depend only on reference
  data, a rule contract and their own code: the Z(c) overlay, zone_universe_candidates).
  The rows are computed once per identity of those inputs and kept as Parquet outside the
  run's database, `build/zone-universe-cache/<key>/<model>.parquet` (seg3a.zones.cache
  says what the key digests). A build whose key is stored creates the table from that
  file and says so in one log line; otherwise it runs the model's SQL, writes the file
  under a name of this invocation and renames it into place (atomic), so concurrent
  builds and other databases read a whole file or none.
  SEG3A_ZONE_UNIVERSE_REBUILD=1 recomputes and replaces the stored file.
#}
{% materialization seg3a_stored_table, adapter='duckdb', supported_languages=['sql'] %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- if existing_relation is not none and not existing_relation.is_table -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}

    {%- set lookup = run_query(
        "select path, s3a_stored_file_reusable(path) from (select s3a_stored_file("
        ~ "getvariable('seg3a_run_root'), '" ~ this.identifier ~ "') as path)") -%}
    {%- set stored_file = lookup.rows[0][0] -%}
    {%- set reusable = lookup.rows[0][1] -%}
    {%- set staged_file = stored_file ~ '.' ~ invocation_id ~ '.tmp' -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- call statement('main') -%}
        {%- if reusable %}
        create or replace table {{ target_relation }} as
            select * from read_parquet('{{ stored_file }}');
        {%- else %}
        create or replace table {{ target_relation }} as (
            {{ compiled_code }}
        );
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

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
