with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 'Area/X', 1::bigint, 3::bigint, 3::bigint),
        (1, 'AA', null, 2, 3, 3)
    ) as fixture_rows (merchant_id, legal_country_iso, tzid, zone_site_count, zone_site_count_sum, site_count)
)

select * from fixture_rows
