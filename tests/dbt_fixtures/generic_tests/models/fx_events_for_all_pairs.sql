with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA'),
        (2, 'BB')
    ) as fixture_rows (merchant_id, country_iso)
)

select * from fixture_rows
