select
    file_id,
    source_sheet,
    source_row,
    fiscal_year_be,
    budget_plan_name,
    {{ name_key('budget_plan_name') }} as budget_plan_key,
    agency_name,
    {{ name_key('agency_name') }} as agency_key,
    upper(trim(project_code)) as project_code,
    project_name_th,
    approach,
    focus_area,
    requested_baht::numeric(18, 2) as requested_baht,
    allocated_baht::numeric(18, 2) as allocated_baht
from {{ source('raw', 'integration_plan') }}
