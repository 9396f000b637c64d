-- Contract `n integer not null`; the var `n_type` lets a build break it.
select cast({{ var('n', 1) }} as {{ var('n_type', 'integer') }}) as n
