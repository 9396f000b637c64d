{#
  The steps the project's materializations (`seg3a_table`, `seg3a_stored_table`, `view`)
  share around their main statement, so that all treat an existing relation, hooks,
  enforced contracts and the commit alike:
    seg3a_table_begin(relation_type)  drops a relation of the model's name that is not a
                                      `relation_type` ('table', or 'view'; an earlier
                                      materialization), runs the pre-hooks; returns the
                                      relation to create
    seg3a_create_table(relation, sql) `create or replace table` from `sql`; with an
                                      enforced contract as dbt's `table` applies it: the
                                      select's columns asserted against the YAML, the
                                      table created with the declared columns and
                                      constraints, the rows inserted
    seg3a_table_end()                 runs the post-hooks around the commit
#}
{% macro seg3a_table_begin(relation_type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if existing_relation is not none and existing_relation.type != relation_type -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {{ return(this.incorporate(type=relation_type)) }}
{%- endmacro %}


{% macro seg3a_create_table(relation, sql) -%}
    {%- if config.get('contract').enforced %}
    {{ get_assert_columns_equivalent(sql) }}
    create or replace table {{ relation }} {{ get_table_columns_and_constraints() }};
    insert into {{ relation }} {{ get_column_names() }} (
        {{ get_select_subquery(sql) }}
    );
    {%- else %}
    create or replace table {{ relation }} as (
        {{ sql }}
    );
    {%- endif %}
{%- endmacro %}


{% macro seg3a_table_end() -%}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
{%- endmacro %}
