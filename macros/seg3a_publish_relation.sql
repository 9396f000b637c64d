{#
  seg3a_publish_relation(relation, dataset_id, sort_keys, immutability_code, order_check)
  Post-hook of the node that publishes a state's validated output: writes the rows of
  `relation`, in the dictionary writer sort, as one zstd `part-00000.parquet` into a
  staging directory beside the dictionary path, then commits it write-once (identical
  existing partition: no-op; different: the node fails with `immutability_code`).
  `order_check` is a one-row relation whose `in_writer_order` says whether `relation`
  already streams its rows in writer order (the state's check verified it row by row);
  then the rows are written as they stream, otherwise they are sorted first. Same writer
  settings as seg3a_publish_partition. An `order_check` without exactly one row fails the
  node (the state's INFRASTRUCTURE catch-all).
#}
{% macro seg3a_publish_relation(relation, dataset_id, sort_keys, immutability_code, order_check) -%}
{%- set in_writer_order = false -%}
{%- if execute -%}
    {%- set checked = run_query('select in_writer_order from ' ~ order_check) -%}
    {%- if checked.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error('seg3a_publish_relation: ' ~ order_check ~ ' must hold exactly one row') }}
    {%- endif -%}
    {%- set in_writer_order = checked.columns[0].values()[0] -%}
{%- endif -%}
set variable seg3a_stage = s3a_make_stage({{ seg3a_location(dataset_id) }});
copy (
    select * from {{ relation }}
    {%- if not in_writer_order %}
    order by {{ sort_keys | join(', ') }}
    {%- endif %}
)
    to (getvariable('seg3a_stage') || '/part-00000.parquet')
    (format parquet, compression zstd, row_group_size 122880);
select s3a_commit_partition(
    '{{ dataset_id }}', getvariable('seg3a_stage'), {{ seg3a_location(dataset_id) }}, '{{ immutability_code }}'
);
{%- endmacro %}
