-- Current budget-bill lines: the newest file of each budget book (REF_DOC).
with rows as (
    select b.*, k.agency_id, l.received_at
    from {{ ref('stg_budget_bill') }} as b
    join {{ ref('stg_file_ledger') }} as l on l.file_id = b.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = b.agency_key
),
ranked as (
    select *, {{ newest_file_rank('ref_doc') }} as recency
    from rows
)
select * from ranked where recency = 1
