{{ config(materialized='ephemeral') }}
-- One row per tzid of the floor policy (grain: tzid; uniqueness checked on load).
with

floor_policy as (
    select floors from {{ ref('int_s2__floor_policy_validated') }}
),

floors_unnested as (
    select unnest(floors, recursive := true)
    from floor_policy
),

floors_listed as (
    select
        tzid,
        floor_value,
        bump_threshold
    from floors_unnested
)

select * from floors_listed
