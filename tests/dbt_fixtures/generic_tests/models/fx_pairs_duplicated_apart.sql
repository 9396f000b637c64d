with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA'),
        (2, 'AA'),
        (1, 'AA')
    ) as fixture_rows (merchant_id, legal_country_iso)
)

select * from fixture_rows
