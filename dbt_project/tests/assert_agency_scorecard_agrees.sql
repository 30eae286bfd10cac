-- Reconcile: agency_scorecard against the marts it summarises, per fiscal year: integration-plan
-- allocations of registered agencies (budget_by_agency_year), projects led and behind plan
-- (project_status), readiness scores (readiness_by_year) and on-time submissions never above the
-- complete ones.
with card as (
    select fiscal_year_be, sum(allocated_baht) as allocated_baht, sum(projects_led) as projects_led,
           sum(projects_behind_plan) as behind, count(readiness_score) as scored,
           count(*) filter (where submissions_on_time > submissions_complete
                            or submissions_complete > submissions_expected) as bad_submissions
    from {{ ref('agency_scorecard') }}
    group by fiscal_year_be
),
budget as (
    select fiscal_year_be, sum(amount_baht) as allocated_baht
    from {{ ref('budget_by_agency_year') }}
    where source = 'integration_plan' and agency_id is not null
    group by fiscal_year_be
),
projects as (
    select reporting_fy_be as fiscal_year_be, count(*) as projects_led,
           count(*) filter (where is_behind_plan) as behind
    from {{ ref('project_status') }}
    group by reporting_fy_be
),
readiness as (
    select survey_year_be as fiscal_year_be, count(*) as scored
    from {{ ref('readiness_by_year') }}
    where agency_id is not null and overall_score is not null
    group by survey_year_be
)
select c.fiscal_year_be, c.allocated_baht, b.allocated_baht as by_agency_allocated_baht,
       c.projects_led, p.projects_led as status_projects, c.behind, p.behind as status_behind,
       c.scored, r.scored as readiness_scored, c.bad_submissions
from card as c
left join budget as b on b.fiscal_year_be = c.fiscal_year_be
left join projects as p on p.fiscal_year_be = c.fiscal_year_be
left join readiness as r on r.fiscal_year_be = c.fiscal_year_be
where c.allocated_baht is distinct from b.allocated_baht
   or c.projects_led <> coalesce(p.projects_led, 0)
   or c.behind <> coalesce(p.behind, 0)
   or c.scored <> coalesce(r.scored, 0)
   or c.bad_submissions > 0
