{{ config(tags=['reconcile'], store_failures=true, schema='reconcile', alias='project_status_by_year') }}
-- Reconcile (nightly.reconcile, check reconcile.project_status_by_year): project_status_by_year against an
-- independent aggregate over staging, not through int_project_reports_current. Current reports: the newest
-- file per agency and reporting year, a project code several current files report kept for its lead agency
-- only (project_report_claims). For every plan and reporting year reported on, each of the plan's projects
-- (seed plan_projects) counts once per current report of it (once when none): planned, started (started or
-- completed), started early (before its planned start year) and not started.
-- One row per mismatch, keyed by plan_code, reporting_fy_be and planned_start_fy_be, with the mart's and the
-- recomputed figures side by side.
with {{ project_report_claims() }},

reports as (
    select c.plan_code, c.reporting_fy_be, c.project_code, c.status, c.actual_start_fy_be
    from current_rows as c
    join claims as k
        on k.plan_code = c.plan_code and k.reporting_fy_be = c.reporting_fy_be and k.project_code = c.project_code
    where {{ project_report_claim_kept('c', 'k') }}
),

reporting_years as (
    select distinct plan_code, reporting_fy_be from reports
),

recomputed as (
    select
        y.plan_code,
        y.reporting_fy_be,
        p.planned_start_fy_be,
        count(*) as projects_planned,
        count(*) filter (where r.status in ('started', 'completed')) as started,
        count(*) filter (where r.status in ('started', 'completed')
                         and r.actual_start_fy_be < p.planned_start_fy_be) as started_early,
        count(*) filter (where r.status = 'not_started') as not_started
    from reporting_years as y
    join {{ ref('plan_projects') }} as p on p.plan_code = y.plan_code
    left join reports as r
        on r.plan_code = y.plan_code and r.reporting_fy_be = y.reporting_fy_be and r.project_code = p.project_code
    group by y.plan_code, y.reporting_fy_be, p.planned_start_fy_be
),

mart as (
    select plan_code, reporting_fy_be, planned_start_fy_be, projects_planned, started, started_early, not_started
    from {{ ref('project_status_by_year') }}
)

{{ compare_with_mart(
    'mart', 'recomputed',
    keys=['plan_code', 'reporting_fy_be', 'planned_start_fy_be'],
    figures=['projects_planned', 'started', 'started_early', 'not_started']
) }}
