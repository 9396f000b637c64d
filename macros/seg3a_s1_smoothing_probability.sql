{#
  seg3a_s1_smoothing_probability(zone_count, site_count, policy)
  -> DOUBLE expression: the smoothing-band probability P_s(k, n) of spec 02 §3.3 for
  zone count `zone_count` (k) and site count `site_count` (n), both signed integers,
  with the s1_smoothing values read from the relation named `policy` (columns
  smoothing_enabled, zone_count_min, zone_count_max, zone_escalation_prob_min,
  zone_escalation_prob_max, site_count_slope, site_count_cap). 0 when smoothing is
  disabled or k < zone_count_min. The operation order is the spec's, so the replay in
  seg3a.states.s1_escalation gets the same binary64 values. No E3A failure of its own.
#}
{% macro seg3a_s1_smoothing_probability(zone_count, site_count, policy) -%}
case
    when not {{ policy }}.smoothing_enabled or {{ zone_count }} < {{ policy }}.zone_count_min then 0.0::double
    else least(
        1.0::double,
        greatest(
            0.0::double,
            (
                {{ policy }}.zone_escalation_prob_min
                + (
                    (least({{ zone_count }}, {{ policy }}.zone_count_max) - {{ policy }}.zone_count_min)::double
                    / greatest({{ policy }}.zone_count_max - {{ policy }}.zone_count_min, 1)::double
                )
                * ({{ policy }}.zone_escalation_prob_max - {{ policy }}.zone_escalation_prob_min)
            )
            + least(
                greatest({{ site_count }} - 1, 0)::double * {{ policy }}.site_count_slope,
                {{ policy }}.site_count_cap
            )
        )
    )
end
{%- endmacro %}
