with

fixture_rows as (
    select *
    from (
        values
        ('f1', 'p1')
    ) as fixture_rows (manifest_fingerprint, parameter_hash)
)

select * from fixture_rows
