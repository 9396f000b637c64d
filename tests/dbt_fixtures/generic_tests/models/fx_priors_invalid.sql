with

fixture_rows as (
    select *
    from (
        values
        ('AA', 'Area/X', 1.5::double, 0.0::double),
        ('AA', 'Area/Y', 1.5, 0.0),
        ('BB', 'Bay/X', 1.0, 'nan'::double)
    ) as fixture_rows (country_iso, tzid, alpha_effective, alpha_sum_country)
)

select * from fixture_rows
