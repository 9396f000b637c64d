-- The rows of fx_counts_conserved, in its order, as a relation of their own: the
-- positional proof compares two relations that hold the same rows row by row.
select * from {{ ref('fx_counts_conserved') }}
