with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA'),
        (1, null),
        (1, null)
    ) as fixture_rows (merchant_id, legal_country_iso)
)

select * from fixture_rows
