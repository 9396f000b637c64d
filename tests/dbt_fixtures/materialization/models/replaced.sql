-- One row whose value is SEG3A_TABLE_FIXTURE_N: a second build must replace the first's row.
-- (Environment variables, not vars: they are read when the model is compiled, so every
-- build of the tests' fork server runs on one parse.)
select cast({{ env_var('SEG3A_TABLE_FIXTURE_N', '1') }} as integer) as n
