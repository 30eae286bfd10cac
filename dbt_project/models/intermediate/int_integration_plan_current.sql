-- Current integration-plan rows: for each agency and fiscal year, the newest file's rows.
with rows as (
    select i.*, k.agency_id, l.received_at
    from {{ ref('stg_integration_plan') }} as i
    join {{ ref('stg_file_ledger') }} as l on l.file_id = i.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = i.agency_key
),
ranked as (
    select *, {{ newest_file_rank('coalesce(agency_id, agency_key), fiscal_year_be') }} as recency
    from rows
)
select * from ranked where recency = 1
