{#
  seg3a_country_tzids_listed(priors)
  The body of a select: one row per country of `priors` (a relation with country_iso and
  tzid, S2's country_zone_priors), its tzids as a list in ascending order, the order S3
  draws a pair's shares in. int_s3__draws checks each draw's zone count against it and
  int_s3__country_zone_lists stores it for s3_zone_shares.
#}
{% macro seg3a_country_tzids_listed(priors) -%}
    select
        country_iso,
        {{ seg3a_list_ordered('tzid', 'tzid') }} as tzids
    from {{ priors }}
    group by country_iso
{%- endmacro %}
