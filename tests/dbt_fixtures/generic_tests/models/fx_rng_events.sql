with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 4::ubigint, '6'),
        (3, 'CC', 5, '7')
    ) as fixture_rows (merchant_id, country_iso, blocks, draws)
)

select * from fixture_rows
