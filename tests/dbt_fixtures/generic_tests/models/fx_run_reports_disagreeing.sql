with

fixture_rows as (
    select *
    from (
        values
        ('S1', 'FAIL'),
        ('S2', 'PASS')
    ) as fixture_rows (state, status)
)

select * from fixture_rows
