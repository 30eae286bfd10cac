-- Project x reporting FY: every project of a plan, for each year the plan's projects were reported
-- on (the same projects and years as project_status_by_year, which this rolls up to), with the
-- current report's status, how far behind plan it is and the obstacles the agency wrote.
--   status: started_early = started (or completed) in a year before its planned start year;
--           started = started or completed otherwise; not_started; not_reported = no current report.
--   is_behind_plan: not started although its planned start year has come (planned <= reporting FY);
--           null when not reported (unknown). years_behind: reporting FY - planned start FY + 1
--           for a project behind plan (1 = not started in its planned year), 0 otherwise.
with reporting_years as (
    select distinct plan_code, reporting_fy_be from {{ ref('int_project_reports_current') }}
),
reports as (
    select plan_code, reporting_fy_be, project_code, agency_id, status, actual_start_fy_be,
           nullif(trim(obstacle_categories), '') as obstacle_categories,
           nullif(trim(obstacle_note), '') as obstacle_note
    from {{ ref('int_project_reports_current') }}
),
obstacle_labels as (
    select r.plan_code, r.reporting_fy_be, r.project_code,
           string_agg(c.category, ';' order by c.category) as categories,
           string_agg(c.category_name_th, '; ' order by c.category) as categories_th
    from reports as r
    cross join lateral unnest(string_to_array(r.obstacle_categories, ';')) as oc(code)
    join {{ ref('obstacle_categories') }} as c on c.category = trim(oc.code)
    group by r.plan_code, r.reporting_fy_be, r.project_code
),
joined as (
    select
        p.plan_code,
        p.project_code,
        p.project_name_th,
        p.strategy_no,
        p.capability_domain_no,
        p.lead_agency_id,
        p.planned_start_fy_be,
        y.reporting_fy_be,
        r.agency_id as reporting_agency_id,
        r.status as reported_status,
        r.actual_start_fy_be,
        case
            when r.project_code is null then 'not_reported'
            when r.status in ('started', 'completed') and r.actual_start_fy_be < p.planned_start_fy_be
                then 'started_early'
            when r.status in ('started', 'completed') then 'started'
            else 'not_started'
        end as status,
        o.categories as obstacle_categories,
        o.categories_th as obstacle_categories_th,
        r.obstacle_note
    from reporting_years as y
    join {{ ref('plan_projects') }} as p on p.plan_code = y.plan_code
    left join reports as r
        on r.plan_code = y.plan_code and r.reporting_fy_be = y.reporting_fy_be and r.project_code = p.project_code
    left join obstacle_labels as o
        on o.plan_code = y.plan_code and o.reporting_fy_be = y.reporting_fy_be and o.project_code = p.project_code
),
flagged as (
    select
        *,
        case
            when status = 'not_reported' then null
            else status = 'not_started' and planned_start_fy_be <= reporting_fy_be
        end as is_behind_plan
    from joined
)
select
    f.plan_code::text as plan_code,
    {{ label_th('plan', 'f.plan_code') }}::text as plan_name_th,
    f.project_code::text as project_id,
    f.project_name_th::text as project_name_th,
    f.strategy_no::integer as strategy_no,
    f.capability_domain_no::integer as capability_domain_code,
    d.domain_name_th::text as capability_domain_name_th,
    d.phase::integer as capability_domain_phase,
    f.lead_agency_id::text as lead_agency_id,
    a.agency_name_th::text as lead_agency_name_th,
    f.reporting_agency_id::text as reporting_agency_id,
    f.planned_start_fy_be::integer as planned_start_fy_be,
    f.reporting_fy_be::integer as reporting_fy_be,
    f.status::text as status,
    {{ label_th('project_status', 'f.status') }}::text as status_name_th,
    f.reported_status::text as reported_status,
    {{ label_th('reported_status', 'f.reported_status') }}::text as reported_status_name_th,
    f.actual_start_fy_be::integer as actual_start_fy_be,
    f.is_behind_plan::boolean as is_behind_plan,
    {{ label_th('behind_plan', 'f.is_behind_plan') }}::text as is_behind_plan_th,
    (case
        when f.is_behind_plan then f.reporting_fy_be - f.planned_start_fy_be + 1
        when f.is_behind_plan is not null then 0
    end)::integer as years_behind,
    f.obstacle_categories::text as obstacle_categories,
    f.obstacle_categories_th::text as obstacle_categories_th,
    f.obstacle_note::text as obstacle_note_th
from flagged as f
left join {{ ref('agencies') }} as a on a.agency_id = f.lead_agency_id
left join {{ ref('capability_domains') }} as d on d.capability_domain_no = f.capability_domain_no
