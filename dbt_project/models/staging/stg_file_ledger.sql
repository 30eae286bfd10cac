select
    file_id,
    source,
    content_sha256,
    path,
    size_bytes,
    received_at,
    processed_at,
    status,
    rows_in,
    rows_loaded,
    rows_rejected,
    reject_code,
    reject_reason,
    fiscal_years_be,
    agency_names,
    ref_doc
from {{ source('ops', 'file_ledger') }}
