with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 'Area/X', 5::bigint),
        (1, 'AA', 'Area/Y', 2),
        (1, 'AA', 'Area/Z', 0)
    ) as fixture_rows (merchant_id, legal_country_iso, tzid, zone_site_count)
)

select * from fixture_rows
