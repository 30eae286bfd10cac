-- Agency x fiscal year, for registered agencies with anything to show that year: plan projects
-- led (from project_status), integration-plan allocation, readiness score and band, and the
-- expected submissions that arrived on time (from submission_coverage). Rebuilt by year on a night whose
-- only files are readiness answers (macros/night_years.sql).
{{ config(**night_years_mart_config('agency_scorecard')) }}
{%- set years = night_years('agency_scorecard') if is_incremental() else none %}

with projects as (
    select
        lead_agency_id as agency_id,
        reporting_fy_be as fiscal_year_be,
        count(*) as projects_led,
        -- due = planned start year reached and a current report
        count(*) filter (where planned_start_fy_be <= reporting_fy_be and status <> 'not_reported') as projects_due,
        count(*) filter (where planned_start_fy_be <= reporting_fy_be
                         and status in ('started', 'started_early')
                         and actual_start_fy_be <= planned_start_fy_be) as started_on_time,
        count(*) filter (where is_behind_plan) as projects_behind_plan,
        coalesce(sum(cardinality(string_to_array(obstacle_categories, ';'))), 0) as obstacles_reported,
        count(*) filter (where obstacle_categories is not null) as projects_with_obstacles
    from {{ ref('project_status') }}
    where {{ years_condition('reporting_fy_be', years) }}
    group by lead_agency_id, reporting_fy_be
),
allocations as (
    select agency_id, fiscal_year_be, sum(requested_baht) as requested_baht, sum(amount_baht) as allocated_baht,
           count(*) as plan_projects
    from {{ ref('fct_budget_lines') }}
    where source = 'integration_plan' and budget_plan_code is not null
      and agency_id is not null and fiscal_year_be is not null and {{ years_condition('fiscal_year_be', years) }}
    group by agency_id, fiscal_year_be
),
readiness as (
    select agency_id, survey_year_be as fiscal_year_be, overall_score, readiness_band, readiness_band_no,
           readiness_band_name_th
    from {{ ref('readiness_by_year') }}
    where agency_id is not null and {{ years_condition('survey_year_be', years) }}
),
submissions as (
    select
        c.agency_id,
        c.fiscal_year_be,
        count(*) as submissions_expected,
        count(*) filter (where c.is_complete) as submissions_complete,
        -- on time: complete, and the newest file arrived by the end of the fiscal year (Bangkok time)
        count(*) filter (where c.is_complete
                         and c.latest_received_at < ((y.ends_on + 1)::timestamp at time zone 'Asia/Bangkok'))
            as submissions_on_time
    from {{ ref('submission_coverage') }} as c
    join {{ ref('dim_fiscal_year') }} as y on y.fiscal_year_be = c.fiscal_year_be
    where {{ years_condition('c.fiscal_year_be', years) }}
    group by c.agency_id, c.fiscal_year_be
),
keys as (
    select agency_id, fiscal_year_be from projects
    union
    select agency_id, fiscal_year_be from allocations
    union
    select agency_id, fiscal_year_be from readiness
    union
    select agency_id, fiscal_year_be from submissions
)
select
    k.agency_id::text as agency_id,
    k.fiscal_year_be::integer as fiscal_year_be,
    a.agency_name_th::text as agency_name_th,
    a.agency_level::text as agency_level,
    {{ label_th('agency_level', 'a.agency_level') }}::text as agency_level_name_th,
    coalesce(p.projects_led, 0)::integer as projects_led,
    coalesce(p.projects_due, 0)::integer as projects_due,
    round(100.0 * p.started_on_time / nullif(p.projects_due, 0), 2)::numeric(5, 2) as pct_started_on_time,
    coalesce(p.projects_behind_plan, 0)::integer as projects_behind_plan,
    coalesce(p.obstacles_reported, 0)::integer as obstacles_reported,
    coalesce(p.projects_with_obstacles, 0)::integer as projects_with_obstacles,
    coalesce(al.plan_projects, 0)::integer as integration_plan_projects,
    al.requested_baht::numeric(18, 2) as requested_baht,
    al.allocated_baht::numeric(18, 2) as allocated_baht,
    r.overall_score::numeric(5, 2) as readiness_score,
    r.readiness_band::text as readiness_band,
    r.readiness_band_no::integer as readiness_band_no,
    r.readiness_band_name_th::text as readiness_band_name_th,
    coalesce(s.submissions_expected, 0)::integer as submissions_expected,
    coalesce(s.submissions_complete, 0)::integer as submissions_complete,
    coalesce(s.submissions_on_time, 0)::integer as submissions_on_time
from keys as k
join {{ ref('agencies') }} as a on a.agency_id = k.agency_id
left join projects as p on p.agency_id = k.agency_id and p.fiscal_year_be = k.fiscal_year_be
left join allocations as al on al.agency_id = k.agency_id and al.fiscal_year_be = k.fiscal_year_be
left join readiness as r on r.agency_id = k.agency_id and r.fiscal_year_be = k.fiscal_year_be
left join submissions as s on s.agency_id = k.agency_id and s.fiscal_year_be = k.fiscal_year_be
