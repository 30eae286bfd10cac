-- Names in current data that the alias registry does not know: reported each night, never guessed.
with names as (
    select 'project_reports' as source, agency_name, agency_key, file_id from {{ ref('stg_project_reports') }}
    union all
    select 'readiness', agency_name, agency_key, file_id from {{ ref('stg_readiness') }}
    union all
    select 'integration_plan', agency_name, agency_key, file_id from {{ ref('stg_integration_plan') }}
    union all
    select 'budget_bill', agency_name, agency_key, file_id from {{ ref('stg_budget_bill') }}
)
select
    n.source,
    n.agency_name,
    n.agency_key,
    count(*) as row_count,
    min(n.file_id) as first_file_id
from names as n
join {{ ref('stg_file_ledger') }} as l on l.file_id = n.file_id  -- withdrawn files are not current data
left join {{ ref('int_agency_keys') }} as k on k.agency_key = n.agency_key
where k.agency_id is null and n.agency_name is not null
group by n.source, n.agency_name, n.agency_key
