with

fixture_rows as (
    select *
    from (
        values
        ('r1', 42::ubigint),
        ('r2', 7)
    ) as fixture_rows (run_id, seed)
)

select * from fixture_rows
