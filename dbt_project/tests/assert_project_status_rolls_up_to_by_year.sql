-- Reconcile: project_status rolled up to plan x reporting FY x planned-start FY equals
-- project_status_by_year, and every reported year lists each of dim_plan's projects once.
with rolled as (
    select
        plan_code, reporting_fy_be, planned_start_fy_be,
        count(*) as projects_planned,
        count(*) filter (where status in ('started', 'started_early')) as started,
        count(*) filter (where status = 'started_early') as started_early,
        count(*) filter (where status = 'not_started') as not_started,
        count(*) filter (where status = 'not_reported') as not_reported
    from {{ ref('project_status') }}
    group by plan_code, reporting_fy_be, planned_start_fy_be
),
compared as (
    select
        coalesce(r.plan_code, y.plan_code) as plan_code,
        coalesce(r.reporting_fy_be, y.reporting_fy_be) as reporting_fy_be,
        coalesce(r.planned_start_fy_be, y.planned_start_fy_be) as planned_start_fy_be,
        r.projects_planned, y.projects_planned as by_year_planned,
        r.started, y.started as by_year_started,
        r.started_early, y.started_early as by_year_started_early,
        r.not_started, y.not_started as by_year_not_started,
        r.not_reported, y.not_reported as by_year_not_reported
    from rolled as r
    full outer join {{ ref('project_status_by_year') }} as y
        on y.plan_code = r.plan_code and y.reporting_fy_be = r.reporting_fy_be
        and y.planned_start_fy_be = r.planned_start_fy_be
),
per_year as (
    select plan_code, reporting_fy_be, count(*) as projects
    from {{ ref('project_status') }}
    group by plan_code, reporting_fy_be
)
select 'rollup' as check_name, plan_code, reporting_fy_be, planned_start_fy_be
from compared
where projects_planned is distinct from by_year_planned
   or started is distinct from by_year_started
   or started_early is distinct from by_year_started_early
   or not_started is distinct from by_year_not_started
   or not_reported is distinct from by_year_not_reported
union all
select 'dim_plan projects', y.plan_code, y.reporting_fy_be, null
from per_year as y
join {{ ref('dim_plan') }} as p on p.plan_code = y.plan_code
where y.projects <> p.projects
