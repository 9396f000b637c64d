{#
  seg3a_location(dataset_id) -> SQL expression with the physical path of a dictionary
  dataset for the current run (the `seg3a_loc` map the python_udfs plugin sets on every
  cursor). Fails the query with E3A context when the run context could not be resolved.
#}
{% macro seg3a_location(dataset_id) -%}
    coalesce(
        getvariable('seg3a_loc')['{{ dataset_id }}'],
        error('E3A: no location for {{ dataset_id }}: ' || coalesce(getvariable('seg3a_context_error'), 'unknown dataset id'))
    )
{%- endmacro %}
