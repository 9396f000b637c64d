-- Summands 1e100, 1.0, -1e100 in tzid order: the compensated (Neumaier) sum `csum` of
-- spec 03 §0 is exactly 1.0, while DuckDB's fsum/kahan_sum (classic Kahan) and sum give
-- 0.0, so a zero tolerance proves the S6 sums are csum.
with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 'Area/A', 1e100::double),
        (1, 'AA', 'Area/B', 1.0),
        (1, 'AA', 'Area/C', -1e100)
    ) as fixture_rows (merchant_id, legal_country_iso, tzid, share_drawn)
)

select * from fixture_rows
