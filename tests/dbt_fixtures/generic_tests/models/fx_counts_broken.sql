with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 'Area/X', 2::bigint, 3::bigint, 3::bigint),
        (1, 'AA', 'Area/Y', 2, 3, 3),
        (2, 'BB', 'Bay/X', 1, 1, 1)
    ) as fixture_rows (merchant_id, legal_country_iso, tzid, zone_site_count, zone_site_count_sum, site_count)
)

select * from fixture_rows
