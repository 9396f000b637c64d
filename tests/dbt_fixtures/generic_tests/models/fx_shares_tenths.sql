-- Ten shares of 0.1 for one pair: their compensated sum is exactly 1.0 (spec 03 §0),
-- a plain left-to-right sum 0.9999999999999999, so a zero tolerance tells them apart.
with

fixture_rows as (
    select *
    from (
        values
        (1::ubigint, 'AA', 'Area/00', 0.1::double),
        (1, 'AA', 'Area/01', 0.1),
        (1, 'AA', 'Area/02', 0.1),
        (1, 'AA', 'Area/03', 0.1),
        (1, 'AA', 'Area/04', 0.1),
        (1, 'AA', 'Area/05', 0.1),
        (1, 'AA', 'Area/06', 0.1),
        (1, 'AA', 'Area/07', 0.1),
        (1, 'AA', 'Area/08', 0.1),
        (1, 'AA', 'Area/09', 0.1)
    ) as fixture_rows (merchant_id, legal_country_iso, tzid, share_drawn)
)

select * from fixture_rows
