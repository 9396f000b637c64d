with

event_rows as (
    select * from {{ ref('fx_rng_events') }}
)

select * from event_rows
where false
