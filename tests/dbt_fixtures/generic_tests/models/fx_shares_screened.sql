-- The screening of expect_group_sum_to_equal (plain sums first, csum only where the
-- plain sum cannot decide) against tolerance 1e-12, one merchant per case:
-- 1 off by 0.9e-12: passes; 2 off by 1.5e-12: fails; 3 a null share: fails;
-- 4 1e16, 1, -1e16, 1 in tzid order: csum is 2 (fails) while a plain sum in that order
--   is 1, the expected value, which only the rounding margin keeps from passing;
-- 5 a NaN share: fails.
with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 'Area/A', 0.5::double),
        (1, 'AA', 'Area/B', 0.5 + 0.9e-12),
        (2, 'AA', 'Area/A', 0.5),
        (2, 'AA', 'Area/B', 0.5 + 1.5e-12),
        (3, 'AA', 'Area/A', 1.0),
        (3, 'AA', 'Area/B', null),
        (4, 'AA', 'Area/A', 1e16),
        (4, 'AA', 'Area/B', 1.0),
        (4, 'AA', 'Area/C', -1e16),
        (4, 'AA', 'Area/D', 1.0),
        (5, 'AA', 'Area/A', 'NaN'::double),
        (5, 'AA', 'Area/B', 1.0)
    ) as fixture_rows (merchant_id, legal_country_iso, tzid, share_drawn)
)

select * from fixture_rows
