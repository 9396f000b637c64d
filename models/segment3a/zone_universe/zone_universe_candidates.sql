{{ config(materialized='seg3a_stored_table') }}
-- Z(c) measures and membership verdict (spec 02 §1), the single implementation of
-- the rule: every (country, tzid) pair whose polygons share land, with the
-- measures the rule reads and its verdict. `zone_universe` publishes kept rows.
--
-- Geometry is intersected in planar lon/lat; areas are measured in EPSG:6933
-- (cylindrical equal-area: x linear in longitude, y in sin(latitude)), so the
-- straight lon/lat edges GEOS intersected, parallels and polar caps included,
-- are measured as drawn.
--
-- Float sums go through list_sum over a value-ordered list: a plain sum() would
-- add in thread-dependent order, and the measures must not change with threads.
with

-- Step 1: one geometry per country, the union of its rows (the staging model
-- has one row per country; the union runs only where that does not hold). The
-- CRS tag is dropped (the data is EPSG:4326 lon/lat) so ST_Transform accepts
-- whatever tag the GeoParquet reader attached.
country_rows as (
    select
        country_iso,
        geom::GEOMETRY as geom,
        count(*) over (partition by country_iso) as row_count
    from {{ ref('stg_ref__world_countries') }}
    where geom is not null
),

countries as (
    select country_iso, geom from country_rows where row_count = 1
    union all
    select country_iso, ST_Union_Agg(geom order by ST_AsWKB(geom)) as geom
    from country_rows
    where row_count > 1
    group by country_iso
),

-- Step 2 runs on both layers alike, one polygon per row (points or lines a
-- repair may have left carry no area).
dumped as (
    select 'country' as layer, country_iso as key, unnest(ST_Dump(geom)).geom as geom
    from countries
    union all
    select 'zone' as layer, tzid as key, unnest(ST_Dump(geom::GEOMETRY)).geom as geom
    from {{ ref('stg_ref__tz_world') }}
    where geom is not null
),

parts as (
    select layer, key, geom from dumped where ST_GeometryType(geom) = 'POLYGON' and not ST_IsEmpty(geom)
),

classified as (
    select
        layer,
        key,
        geom,
        ST_XMax(geom) - ST_XMin(geom) > 180 as is_wide,
        -- A part spanning all longitudes and reaching a pole is a polar cap
        -- already cut at the antimeridian (Antarctica): shifting its western
        -- vertices would fold it onto itself, so it is kept as drawn.
        ST_XMin(geom) <= -180 + 1e-6 and ST_XMax(geom) >= 180 - 1e-6
            and (ST_YMin(geom) <= -90 + 1e-6 or ST_YMax(geom) >= 90 - 1e-6) as is_polar_cap
    from parts
),

-- Antimeridian split of a part wider than 180°: add 360 to every x < 0 (vertex
-- by vertex, through the GeoJSON coordinate arrays), make valid, cut at
-- 180 − 1e-9 and move the eastern piece back by −360. The 1e-9° strip that the
-- move puts west of −180 is clipped off (about 0.1 mm wide): PROJ would wrap
-- its longitudes to +180 and turn the piece into a band around the globe.
shifted as (
    select
        layer,
        key,
        ST_MakeValid(ST_GeomFromGeoJSON(
            '{"type":"Polygon","coordinates":'
            || to_json(list_transform(
                json_transform(ST_AsGeoJSON(geom) -> 'coordinates', '"DOUBLE[][][]"'),
                ring -> list_transform(ring, p -> [case when p[1] < 0 then p[1] + 360 else p[1] end, p[2]])
            ))::varchar
            || '}'
        )) as geom
    from classified
    where is_wide and not is_polar_cap
),

cut as (
    select
        layer,
        key,
        ST_CollectionExtract(ST_Intersection(geom, ST_MakeEnvelope(0, -90, 180 - 1e-9, 90)), 3) as geom
    from shifted
    union all
    select
        layer,
        key,
        ST_CollectionExtract(ST_Intersection(
            ST_Translate(ST_Intersection(geom, ST_MakeEnvelope(180 - 1e-9, -90, 360, 90)), -360, 0),
            ST_MakeEnvelope(-180, -90, 180, 90)
        ), 3) as geom
    from shifted
),

split_parts as (
    select layer, key, geom from classified where not is_wide or is_polar_cap
    union all
    select layer, key, unnest(ST_Dump(geom)).geom as geom from cut where not ST_IsEmpty(geom)
),

-- Parts get a deterministic number so that collections and sums below do not
-- depend on scan order or thread count.
country_parts as materialized (
    select
        key as country_iso,
        row_number() over (
            partition by key
            order by ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom), ST_AsWKB(geom)
        ) as part_no,
        geom
    from split_parts
    where layer = 'country' and not ST_IsEmpty(geom)
),

-- zone_part_no is only a join key: nothing is ordered or summed by it.
zone_parts as materialized (
    select
        key as tzid,
        row_number() over () as zone_part_no,
        geom
    from split_parts
    where layer = 'zone' and not ST_IsEmpty(geom)
),

-- Steps 3–4: a spatial join (R-tree on bounding boxes, then the exact test)
-- finds which country parts meet which zone parts.
contacts as (
    select c.country_iso, c.part_no, z.zone_part_no
    from country_parts as c
    inner join zone_parts as z on ST_Intersects(c.geom, z.geom)
),

-- A country's parts meeting one zone part are intersected with it in one go:
-- zone parts carry up to ~200k vertices, and one overlay per island (Canada's
-- Arctic) would cost several times more than one per country.
collected as (
    select
        k.country_iso,
        k.zone_part_no,
        ST_Collect(list(c.geom order by c.part_no)) as geom
    from contacts as k
    inner join country_parts as c on k.country_iso = c.country_iso and k.part_no = c.part_no
    group by k.country_iso, k.zone_part_no
),

-- Materialised so the overlay runs once (a filter on its area would otherwise
-- be pushed into the join and recompute it).
pieces as materialized (
    select
        country_iso,
        tzid,
        zone_part_no,
        piece_geom as geom,
        ST_Area(ST_Transform(piece_geom, 'EPSG:4326', 'EPSG:6933', always_xy := true)) / 1e6 as piece_km2
    from (
        select k.country_iso, z.tzid, z.zone_part_no, ST_Intersection(k.geom, z.geom) as piece_geom
        from collected as k
        inner join zone_parts as z on k.zone_part_no = z.zone_part_no
    )
),

land_pieces as (
    select * from pieces where piece_km2 > 0
),

pairs as (
    select country_iso, tzid, list_sum(list(piece_km2 order by piece_km2)) as overlap_km2
    from land_pieces
    group by country_iso, tzid
),

country_area as (
    select
        country_iso,
        list_sum(list(part_km2 order by part_km2)) as country_km2
    from (
        select
            country_iso,
            ST_Area(ST_Transform(geom, 'EPSG:4326', 'EPSG:6933', always_xy := true)) / 1e6 as part_km2
        from country_parts
    )
    group by country_iso
),

-- A zone's land = zone ∩ union of all countries, so the sea in a "with oceans"
-- polygon never dilutes it. Countries meet only along borders, except legacy
-- composite codes drawn over their successors (AN over BQ/CW/SX, CS over ME/RS):
-- their shared land is found here and subtracted once, which is exact as long
-- as no land lies in three countries.
-- The area test sits in a CASE of the spatial join's projection: written as a
-- join condition, `a < b` becomes an inequality join over all part pairs.
country_contacts as materialized (
    select
        a.country_iso as country_a,
        b.country_iso as country_b,
        case when a.country_iso < b.country_iso then ST_Area(ST_Intersection(a.geom, b.geom)) end as shared_area
    from country_parts as a
    inner join country_parts as b on ST_Intersects(a.geom, b.geom)
),

overlapping_countries as (
    select distinct country_a, country_b
    from country_contacts
    where shared_area > 0
),

double_counted as (
    select
        a.tzid,
        a.country_iso as country_a,
        b.country_iso as country_b,
        ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), 'EPSG:4326', 'EPSG:6933', always_xy := true))
            / 1e6 as shared_km2
    from land_pieces as a
    inner join land_pieces as b
        on a.zone_part_no = b.zone_part_no and a.country_iso < b.country_iso
    inner join overlapping_countries as o
        on o.country_a = a.country_iso and o.country_b = b.country_iso
),

-- Land of uninhabited countries (Antarctica) counts only for that country
-- itself, else Antarctic sectors outweigh the inhabited land a zone is named
-- for (America/Argentina/Ushuaia has most of its land there).
zone_inhabited_land as (
    select
        s.tzid,
        s.land_km2 - coalesce(d.shared_km2, 0) as inhabited_km2
    from (
        select tzid, list_sum(list(piece_km2 order by piece_km2)) as land_km2
        from land_pieces
        where not list_contains(seg3a_zone_rule__uninhabited_countries(), country_iso)
        group by tzid
    ) as s
    left join (
        select tzid, list_sum(list(shared_km2 order by shared_km2)) as shared_km2
        from double_counted
        where not list_contains(seg3a_zone_rule__uninhabited_countries(), country_a)
          and not list_contains(seg3a_zone_rule__uninhabited_countries(), country_b)
        group by tzid
    ) as d on s.tzid = d.tzid
),

measured as (
    select
        p.country_iso,
        p.tzid,
        p.overlap_km2,
        p.overlap_km2 / a.country_km2 as share_of_country,
        p.overlap_km2 / (
            p.overlap_km2
            + coalesce(l.inhabited_km2, 0)
            - case
                when list_contains(seg3a_zone_rule__uninhabited_countries(), p.country_iso) then 0
                else p.overlap_km2
            end
        ) as share_of_zone_land,
        not starts_with(p.tzid, seg3a_zone_rule__non_civil_tzid_prefix()) as is_civil
    from pairs as p
    inner join country_area as a on p.country_iso = a.country_iso
    left join zone_inhabited_land as l on p.tzid = l.tzid
),

judged as (
    select
        *,
        is_civil
            and overlap_km2 >= seg3a_zone_rule__min_overlap_km2()
            and share_of_zone_land >= seg3a_zone_rule__min_share_of_zone_land()
            as holds_zone_land,
        -- The fallback candidate: the largest civil overlap, or the largest
        -- overlap at all where the country touches no civil zone.
        row_number() over (
            partition by country_iso order by is_civil desc, overlap_km2 desc, tzid
        ) as fallback_rank
    from measured
)

select
    country_iso,
    tzid,
    overlap_km2,
    share_of_country,
    share_of_zone_land,
    is_civil,
    case
        when holds_zone_land then 'holds_zone_land'
        when fallback_rank = 1 and not bool_or(holds_zone_land) over (partition by country_iso)
            then 'fallback_largest_overlap'
    end as keep_reason,
    keep_reason is not null as kept
from judged
order by country_iso, tzid
