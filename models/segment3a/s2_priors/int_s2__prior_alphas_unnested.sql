{{ config(materialized='ephemeral') }}
-- One row per entry of a country's tzid_alphas list (grain: country_iso,
-- list_position); duplicates of a tzid are still separate rows here.
with

prior_pack as (
    select alphas from {{ ref('int_s2__prior_pack_validated') }}
),

alphas_unnested as (
    select unnest(alphas, recursive := true)
    from prior_pack
),

alphas_listed as (
    select
        country_iso,
        tzid,
        alpha_raw,
        list_position
    from alphas_unnested
)

select * from alphas_listed
