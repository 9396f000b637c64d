with

fixture_rows as (
    select *
    from (
        values
        ('S1', 'PASS'),
        ('S2', 'FAIL')
    ) as fixture_rows (state, status)
)

select * from fixture_rows
