with

fixture_rows as (
    select *
    from (
        values
        ('d1', 'd9', 'r19')
    ) as fixture_rows (zone_alpha_digest, theta_digest, routing_universe_hash)
)

select * from fixture_rows
