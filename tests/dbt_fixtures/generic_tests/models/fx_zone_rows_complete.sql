with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 'Area/X'),
        (1, 'AA', 'Area/Y')
    ) as fixture_rows (merchant_id, legal_country_iso, tzid)
)

select * from fixture_rows
