{#
  seg3a_publish_partition(dataset_id, sort_keys, immutability_code, presorted=false)
  Post-hook of a published Parquet dataset: writes the model's rows, sorted by the
  dictionary writer sort, as one zstd `part-00000.parquet` into a staging directory
  beside the dictionary path, then commits it write-once (identical existing partition:
  no-op; different: the model fails with `immutability_code`). `presorted=true`: the
  model's rows already come in `sort_keys` order (a view whose select keeps the order
  of an ordered subquery), and are written in that order instead of sorted again.
#}
{% macro seg3a_publish_partition(dataset_id, sort_keys, immutability_code, presorted=false) -%}
set variable seg3a_stage = s3a_make_stage({{ seg3a_location(dataset_id) }});
copy (select * from {{ this }}{{ '' if presorted else ' order by ' ~ sort_keys | join(', ') }})
    to (getvariable('seg3a_stage') || '/part-00000.parquet')
    (format parquet, compression zstd, row_group_size 122880);
select s3a_commit_partition(
    '{{ dataset_id }}', getvariable('seg3a_stage'), {{ seg3a_location(dataset_id) }}, '{{ immutability_code }}'
);
{%- endmacro %}
