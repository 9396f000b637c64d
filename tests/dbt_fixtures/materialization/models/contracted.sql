-- Contract `n integer not null`; SEG3A_TABLE_FIXTURE_N_TYPE lets a build break it.
select cast({{ env_var('SEG3A_TABLE_FIXTURE_N', '1') }} as {{ env_var('SEG3A_TABLE_FIXTURE_N_TYPE', 'integer') }}) as n
