-- One row per sealed artefact, read back from the JSON array S0 published.
{{ config(materialized='seg3a_table') }}

with gate_receipt as (
    select manifest_fingerprint from {{ ref('s0_gate_receipt_3A') }}
),

sealed_rows as (
    select
        manifest_fingerprint,
        owner_segment,
        artefact_kind,
        logical_id,
        path,
        schema_ref,
        sha256_hex,
        role,
        license_class,
        notes
    from read_json(
        {{ seg3a_location('sealed_inputs_3A') }},
        format = 'array',
        columns = {
            manifest_fingerprint: 'VARCHAR', owner_segment: 'VARCHAR', artefact_kind: 'VARCHAR',
            logical_id: 'VARCHAR', path: 'VARCHAR', schema_ref: 'VARCHAR', sha256_hex: 'VARCHAR',
            role: 'VARCHAR', license_class: 'VARCHAR', notes: 'VARCHAR'
        }
    )
),

sealed_rows_of_this_gate as (
    select sealed_rows.*
    from sealed_rows
    inner join gate_receipt
        on sealed_rows.manifest_fingerprint = gate_receipt.manifest_fingerprint
)

select * from sealed_rows_of_this_gate
order by owner_segment, artefact_kind, logical_id, path
