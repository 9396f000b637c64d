with

trace_rows as (
    select * from {{ ref('fx_rng_trace_short') }}
)

select * from trace_rows
where false
