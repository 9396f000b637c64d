{#
  seg3a_s6_relation(name, inline=false) -> the relation an S6 test reads for the model
  `name`: `ref(name)` when dbt runs the test, or, with inline=true, the model's select
  itself, for the S6 build models, which must not depend on the tested
  `int_s6__<input>_read` models (a failed test would skip them).
  Inline, the check outcomes are the relation `seg3a_s6_check_outcomes` (check_id,
  failed), which int_s6__checks_evaluated registers from the rows of the other checks
  before it runs CHK_STATE_STATUS_CONSISTENCY, so that no check query runs twice.
  Inlining is defined for the read models only; any other name with inline=true fails
  compilation with E3A_S6_002_CATALOGUE_MALFORMED.
#}
{% macro seg3a_s6_relation(name, inline=false) -%}
    {%- if not inline -%}
        {{ ref(name) }}
    {%- elif name == 'int_s6__check_outcomes_read' -%}
        seg3a_s6_check_outcomes
    {%- elif name.startswith('int_s6__') and name.endswith('_read') -%}
        ({{ seg3a_s6_read(name[8:-5]) }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("E3A_S6_002_CATALOGUE_MALFORMED: cannot inline " ~ name) }}
    {%- endif -%}
{%- endmacro %}


{#
  seg3a_s6_shared_inputs() -> {input: inlined select} of the S6 inputs that several
  check queries read and that cost a JSON parse each time: the RNG event log (five
  queries; the trace log, read by two, costs more to keep than to parse twice). Each
  value is exactly the text seg3a_s6_relation(<read model>, inline=true) puts into a
  query, so int_s6__checks_evaluated can read it once into a table of the session and
  let the queries read that table instead (same rows).
#}
{% macro seg3a_s6_shared_inputs() -%}
    {%- set shared = {} -%}
    {%- for input in ['rng_events'] -%}
        {%- do shared.update({input: seg3a_s6_relation('int_s6__' ~ input ~ '_read', inline=true)}) -%}
    {%- endfor -%}
    {{ return(shared) }}
{%- endmacro %}
