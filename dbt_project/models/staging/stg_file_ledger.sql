-- The file ledger, renamed for dbt (the two changes below).
-- received_at: when the pipeline received the file, which decides supersession: the file's modification
-- time, but never earlier than the end of the last run before the run that loaded it, so a correction
-- copied with an older mtime (cp -p, rsync -t) still supersedes what earlier runs loaded (ledger order);
-- within one run, files are ordered by mtime. file_modified_at keeps the mtime itself.
-- Files withdrawn with `make withdraw` (ops.file_withdrawals) are left out: their rows drop out of every
-- model that joins the ledger; raw and the ledger keep them.
with ledger as (
    select l.*, min(l.processed_at) over (partition by l.run_id) as run_started_at
    from {{ source('ops', 'file_ledger') }} as l
),
runs as (
    select run_started_at, max(processed_at) as run_finished_at
    from ledger
    group by run_id, run_started_at
)
select
    file_id,
    source,
    content_sha256,
    path,
    size_bytes,
    greatest(received_at, (
        select max(r.run_finished_at) from runs as r where r.run_started_at < ledger.run_started_at
    )) as received_at,
    received_at as file_modified_at,
    processed_at,
    run_id,
    status,
    rows_in,
    rows_loaded,
    rows_rejected,
    reject_code,
    reject_reason,
    fiscal_years_be,
    agency_names,
    ref_doc
from ledger
where not exists (
    select 1 from {{ source('ops', 'file_withdrawals') }} as w where w.file_id = ledger.file_id
)
