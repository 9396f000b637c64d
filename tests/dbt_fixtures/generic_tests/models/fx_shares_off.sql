with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 'Area/X', 0.5::double),
        (1, 'AA', 'Area/Y', 0.4)
    ) as fixture_rows (merchant_id, legal_country_iso, tzid, share_drawn)
)

select * from fixture_rows
