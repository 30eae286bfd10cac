-- Current project reports: for each agency and reporting year, the newest file's rows.
with rows as (
    select r.*, k.agency_id, l.received_at
    from {{ ref('stg_project_reports') }} as r
    join {{ ref('stg_file_ledger') }} as l on l.file_id = r.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = r.agency_key
),
ranked as (
    select *, {{ newest_file_rank('coalesce(agency_id, agency_key), reporting_fy_be') }} as recency
    from rows
)
select * from ranked where recency = 1
