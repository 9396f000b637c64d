-- depends_on: {{ ref('s0_gate_receipt_3A') }}
-- One row per time-zone polygon part of tz_world_2025a (tzid, polygon_id). The
-- geometry column is `geom` or the fallback `geometry` (spec 02 §1), exposed as
-- plain GEOMETRY named `geom`.
with

tz_world_2025a as (
    select
        tzid,
        polygon_id,
        columns('^(geom|geometry)$') as geom
    from {{ source('seg3a_reference', 'tz_world_2025a') }}
),

zones_typed as (
    select
        tzid::varchar as tzid,
        polygon_id::integer as polygon_id,
        geom::geometry as geom
    from tz_world_2025a
)

select * from zones_typed
