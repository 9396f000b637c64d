{#
  seg3a_spark_output_sql(compiled_code) -> the SQL a DuckDB `seg3a_table` or view model runs.
  Unchanged, unless the Spark target computed this model: then the environment variable
  SEG3A_SPARK_OUTPUTS (a JSON object set by `seg3a build --target spark`) maps the model's
  name to the folder of Spark's Parquet files, and the model's table is those rows, every column cast
  to the type the model's own SQL has on DuckDB (DESCRIBE binds it without running it),
  in key order (the models are keyed by their leading columns). Whatever is downstream
  (checks, publishing, digests) therefore sees the same rows as with the DuckDB target.
  (A view keeps reading those files until the next build replaces it.)
#}
{% macro seg3a_spark_output_sql(compiled_code) -%}
    {%- set folder = fromjson(env_var('SEG3A_SPARK_OUTPUTS', '{}')).get(model.name) -%}
    {%- if not folder -%}
        {{ return(compiled_code) }}
    {%- endif -%}
    {%- set described = run_query('describe (' ~ compiled_code ~ ')') -%}
    {%- set columns = [] -%}
    {%- for row in described.rows -%}
        {%- do columns.append('cast("' ~ row['column_name'] ~ '" as ' ~ row['column_type'] ~ ') as "' ~ row['column_name'] ~ '"') -%}
    {%- endfor -%}
    {{ return('select ' ~ columns | join(', ') ~ " from read_parquet('" ~ folder ~ "/*.parquet') order by all") }}
{%- endmacro %}
