-- depends_on: {{ ref('s0_gate_receipt_3A') }}
-- One row per ISO 3166-1 alpha-2 code of iso3166_canonical_2024.
with

iso3166_canonical_2024 as (
    select
        country_iso,
        alpha3,
        name
    from {{ source('seg3a_reference', 'iso3166_canonical_2024') }}
),

countries_typed as (
    select
        country_iso::varchar as country_iso,
        alpha3::varchar as alpha3,
        name::varchar as country_name
    from iso3166_canonical_2024
)

select * from countries_typed
