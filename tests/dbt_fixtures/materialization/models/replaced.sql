-- One row whose value is the `n` var: a second build must replace the first's row.
select cast({{ var('n', 1) }} as integer) as n
