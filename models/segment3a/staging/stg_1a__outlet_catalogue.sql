-- depends_on: {{ ref('s0_gate_receipt_3A') }}
-- One row per outlet of the 1A outlet_catalogue, reduced to the two columns 3A reads
-- (spec 02 §6 inputs: merchant_id and legal_country_iso only).
with

outlet_catalogue as (
    select
        merchant_id,
        legal_country_iso
    from {{ source('seg3a_upstream', 'outlet_catalogue') }}
),

outlets_typed as (
    select
        merchant_id::ubigint as merchant_id,
        legal_country_iso::varchar as legal_country_iso
    from outlet_catalogue
)

select * from outlets_typed
