with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 3::bigint, true),
        (2, 'BB', 1, false)
    ) as fixture_rows (merchant_id, legal_country_iso, site_count, is_escalated)
)

select * from fixture_rows
