with

fixture_rows as (
    select *
    from (
        values
        ('policy_a'),
        ('policy_b')
    ) as fixture_rows (logical_id)
)

select * from fixture_rows
