-- Names in current data that the alias registry does not know: reported each night, never guessed.
-- Every staging model's agency_key is name_key(agency_name): rows are counted by name first and each
-- distinct name keyed once (most rows repeat a name: one per agency per year), looked up when the registry
-- writes it so (int_agency_names).
with names as (
    select 'project_reports' as source, agency_name, file_id from {{ ref('stg_project_reports') }}
    union all
    select 'readiness', agency_name, file_id from {{ ref('stg_readiness') }}
    union all
    select 'integration_plan', agency_name, file_id from {{ ref('stg_integration_plan') }}
    union all
    select 'budget_bill', agency_name, file_id from {{ ref('stg_budget_bill') }}
),
counted as (
    select
        n.source,
        n.agency_name,
        count(*) as row_count,
        min(n.file_id) as first_file_id
    from names as n
    join {{ ref('stg_file_ledger') }} as l on l.file_id = n.file_id  -- withdrawn files are not current data
    where n.agency_name is not null
    group by n.source, n.agency_name
),
keyed as (
    select
        c.source,
        c.agency_name,
        coalesce(r.agency_key, {{ name_key('c.agency_name') }}) as agency_key,
        c.row_count,
        c.first_file_id
    from counted as c
    left join {{ ref('int_agency_names') }} as r on r.agency_name = c.agency_name
)
select
    n.source,
    n.agency_name,
    n.agency_key,
    n.row_count,
    n.first_file_id
from keyed as n
left join {{ ref('int_agency_keys') }} as k on k.agency_key = n.agency_key
where k.agency_id is null
