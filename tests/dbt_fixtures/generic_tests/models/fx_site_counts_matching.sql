with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 2::bigint),
        (2, 'BB', 1)
    ) as fixture_rows (merchant_id, legal_country_iso, site_count)
)

select * from fixture_rows
