{#
  seg3a_csum(values) -> DOUBLE expression: the compensated (Neumaier) sum `csum` of
  spec 03 §0 over `values`, a DOUBLE[] expression whose element order is the summation
  order (e.g. `list(alpha_effective order by tzid)`). 0.0 for an empty list.
  s <- x1, c <- 0; for each next x: t <- s + x; c += (s - t) + x if |s| >= |x| else
  (x - t) + s; s <- t; result s + c when c is non-zero and finite, else s.
  DuckDB's fsum/kahan_sum use classic Kahan summation and sum() is not compensated in
  a fixed order, so neither gives csum's bits; this is checked against
  python_udfs.csum.csum by tests/unit/test_s1_rules.py. No E3A failure of its own.
#}
{% macro seg3a_csum(values) -%}
case
    when len({{ values }}) = 0 then 0.0::double
    else list_transform(
        [
            list_reduce(
                list_transform({{ values }}, lambda csum_x: {'s': csum_x::double, 'c': 0.0::double}),
                lambda csum_acc, csum_item: {
                    's': csum_acc.s + csum_item.s,
                    'c': csum_acc.c + case
                        when abs(csum_acc.s) >= abs(csum_item.s)
                            then (csum_acc.s - (csum_acc.s + csum_item.s)) + csum_item.s
                        else (csum_item.s - (csum_acc.s + csum_item.s)) + csum_acc.s
                    end
                }
            )
        ],
        lambda csum_total: case
            when csum_total.c <> 0 and isfinite(csum_total.c) then csum_total.s + csum_total.c
            else csum_total.s
        end
    )[1]
end
{%- endmacro %}
