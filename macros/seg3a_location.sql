{#
  seg3a_location(dataset_id) -> SQL expression with the physical path of a dictionary
  dataset for the current run: the macro `seg3a_loc__<dataset_id>()` that the python_udfs
  plugin creates in the run's database (constant, so table functions such as read_parquet
  take it). Without a usable run it fails the query with the E3A context; an id the
  dictionary lacks has no macro (DuckDB names the missing `seg3a_loc__<dataset_id>`).
#}
{% macro seg3a_location(dataset_id) -%}
    seg3a_loc__{{ dataset_id }}()
{%- endmacro %}
