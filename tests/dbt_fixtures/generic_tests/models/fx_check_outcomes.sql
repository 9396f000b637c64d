with

fixture_rows as (
    select *
    from (
        values
        ('CHK_A', false),
        ('CHK_B', true)
    ) as fixture_rows (check_id, failed)
)

select * from fixture_rows
