-- depends_on: {{ ref('s0_gate_receipt_3A') }}
-- One row per world_countries feature (one per ISO2 after the reference dissolve).
-- The GeoParquet geometry column is `geom`, or `geometry` as the accepted fallback
-- (spec 02 §1); either arrives as GEOMETRY and is exposed as plain `geom`, CRS tag
-- dropped (the data is EPSG:4326 lon/lat by contract).
with

world_countries as (
    select
        country_iso,
        columns('^(geom|geometry)$') as geom
    from {{ source('seg3a_reference', 'world_countries') }}
),

countries_typed as (
    select
        country_iso::varchar as country_iso,
        geom::geometry as geom
    from world_countries
)

select * from countries_typed
