{#
  seg3a_s6_test_nodes() -> list of the graph's enabled data tests that carry an S6
  check (`meta.seg3a_check_id`) and are attached to an `int_s6__*_read` model, sorted
  by name. Empty at parse time. No E3A failure of its own.
#}
{% macro seg3a_s6_test_nodes() -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- set tested = (node.attached_node or '').split('.')[-1] -%}
            {%- if node.resource_type == 'test' and (node.config.meta or {}).get('seg3a_check_id')
                and node.test_metadata is not none and tested.startswith('int_s6__') -%}
                {%- do found.append(node) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found | sort(attribute='name')) }}
{%- endmacro %}
