{#
  seg3a_publish_partition(dataset_id, sort_keys, immutability_code, presorted=false, checked=false)
  Post-hook of a published Parquet dataset: writes the model's rows, sorted by the
  dictionary writer sort, as one zstd `part-00000.parquet` into a staging directory
  beside the dictionary path, then commits it write-once (identical existing partition:
  no-op; different: the model fails with `immutability_code`). `presorted=true`: the
  model's rows already come in `sort_keys` order (a view whose select keeps the order
  of an ordered subquery, or a table created from such a select: a scan of one table
  keeps its insertion order, DuckDB's order preservation), and are written in that
  order instead of sorted again.
  `checked=true`: a model of this build may already have written these rows with the
  same options into a stage and checked that file (S5's int_s5__zone_alloc_checked);
  that stage is committed as it is, without writing the rows again. Without one (the
  checking model did not run in this process, or its stage is gone) the rows are
  written as above.
#}
{% macro seg3a_publish_partition(dataset_id, sort_keys, immutability_code, presorted=false, checked=false) -%}
{%- set checked_stage = seg3a_checked_stage(dataset_id) if checked else none -%}
{%- if checked_stage -%}
set variable seg3a_stage = '{{ checked_stage | replace("'", "''") }}';
{%- else -%}
set variable seg3a_stage = s3a_make_stage({{ seg3a_location(dataset_id) }});
copy (select * from {{ this }}{{ '' if presorted else ' order by ' ~ sort_keys | join(', ') }})
    to (getvariable('seg3a_stage') || '/part-00000.parquet')
    (format parquet, compression zstd, row_group_size 122880);
{%- endif %}
select s3a_commit_partition(
    '{{ dataset_id }}', getvariable('seg3a_stage'), {{ seg3a_location(dataset_id) }}, '{{ immutability_code }}'
);
{%- endmacro %}


{#- The checked stage of `dataset_id` left in this process (seg3a.core.partitions), or none. -#}
{% macro seg3a_checked_stage(dataset_id) -%}
{%- if not execute -%}{{ return(none) }}{%- endif -%}
{%- set found = run_query('select s3a_checked_stage(' ~ seg3a_location(dataset_id) ~ ') as stage') -%}
{{ return(found.columns[0].values()[0]) }}
{%- endmacro %}
