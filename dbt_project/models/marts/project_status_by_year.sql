-- Plan x reporting FY x planned-start FY: the plan's projects (reference list) against the
-- current status reports. "Started early" = started before its planned fiscal year.
with reporting_years as (
    select distinct plan_code, reporting_fy_be from {{ ref('int_project_reports_current') }}
),
planned as (
    select plan_code, project_code, planned_start_fy_be from {{ ref('plan_projects') }}
),
reports as (
    select plan_code, reporting_fy_be, project_code, status, actual_start_fy_be
    from {{ ref('int_project_reports_current') }}
),
counted as (
    select
        y.plan_code,
        y.reporting_fy_be,
        p.planned_start_fy_be,
        count(*) as projects_planned,
        count(*) filter (where r.status in ('started', 'completed')) as started,
        count(*) filter (where r.status in ('started', 'completed')
                         and r.actual_start_fy_be < p.planned_start_fy_be) as started_early,
        count(*) filter (where r.status = 'not_started') as not_started,
        count(*) filter (where r.project_code is null) as not_reported
    from reporting_years as y
    join planned as p on p.plan_code = y.plan_code
    left join reports as r
        on r.plan_code = y.plan_code and r.reporting_fy_be = y.reporting_fy_be and r.project_code = p.project_code
    group by y.plan_code, y.reporting_fy_be, p.planned_start_fy_be
)
select
    plan_code::text as plan_code,
    {{ label_th('plan', 'counted.plan_code') }}::text as plan_name_th,
    reporting_fy_be::integer as reporting_fy_be,
    planned_start_fy_be::integer as planned_start_fy_be,
    projects_planned::integer as projects_planned,
    started::integer as started,
    started_early::integer as started_early,
    not_started::integer as not_started,
    not_reported::integer as not_reported,
    round(100.0 * started / nullif(projects_planned, 0), 2)::numeric(5, 2) as pct_started,
    round(100.0 * not_started / nullif(projects_planned, 0), 2)::numeric(5, 2) as pct_not_started
from counted
