select
    file_id,
    source_sheet,
    source_row,
    lower(trim(plan_code)) as plan_code,
    reporting_fy_be,
    upper(trim(project_code)) as project_code,
    project_name_th,
    agency_name,
    {{ name_key('agency_name') }} as agency_key,
    planned_start_fy_be,
    status,
    actual_start_fy_be,
    obstacle_categories,
    obstacle_note,
    report_date
from {{ source('raw', 'project_reports') }}
