with

fixture_rows as (
    select *
    from (
        values
        (2::ubigint, 'AA'),
        (1, 'BB'),
        (1, 'AA')
    ) as fixture_rows (merchant_id, legal_country_iso)
)

select * from fixture_rows
