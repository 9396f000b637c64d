{#
  seg3a_s3_failure_context(reason, check) -> SQL VARCHAR aggregate: the JSON context of
  a failed S3 draw check (int_s3__draws): the reason, how many pairs fail the check
  (boolean column `check`) and the smallest such pair. No E3A failure of its own.
#}
{% macro seg3a_s3_failure_context(reason, check) -%}
{{ seg3a_json_object(
    "'reason'", "'" ~ reason ~ "'",
    "'affected_pairs_count'", 'count(*) filter (where not ' ~ check ~ ')',
    "'sample_pair'", 'min(' ~ seg3a_struct("'merchant_id'", 'merchant_id', "'legal_country_iso'", 'legal_country_iso')
        ~ ') filter (where not ' ~ check ~ ')'
) }}
{%- endmacro %}
