-- Project x reporting FY x obstacle category: one row per category a project's current report names,
-- so obstacles can be counted and filtered without splitting project_status.obstacle_categories.
select
    s.plan_code::text as plan_code,
    s.plan_name_th::text as plan_name_th,
    s.project_id::text as project_id,
    s.project_name_th::text as project_name_th,
    s.strategy_no::integer as strategy_no,
    s.reporting_fy_be::integer as reporting_fy_be,
    c.category::text as category,
    c.category_name_th::text as category_name_th,
    s.lead_agency_id::text as lead_agency_id,
    s.lead_agency_name_th::text as lead_agency_name_th,
    s.status::text as status,
    s.status_name_th::text as status_name_th,
    s.is_behind_plan::boolean as is_behind_plan,
    s.is_behind_plan_th::text as is_behind_plan_th,
    s.obstacle_note_th::text as obstacle_note_th
from {{ ref('project_status') }} as s
cross join lateral unnest(string_to_array(s.obstacle_categories, ';')) as oc(code)
join {{ ref('obstacle_categories') }} as c on c.category = oc.code
