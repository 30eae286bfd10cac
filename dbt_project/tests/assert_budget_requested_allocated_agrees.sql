-- Reconcile: budget_requested_allocated rolls up to budget_by_approach_focus_year's integration_plan
-- rows (amount and projects per FY x plan x approach x focus area) and so to budget_by_year.
with rolled as (
    select fiscal_year_be, budget_plan_code, approach_code, focus_area_code,
           sum(allocated_baht) as allocated_baht, sum(projects) as projects
    from {{ ref('budget_requested_allocated') }}
    group by fiscal_year_be, budget_plan_code, approach_code, focus_area_code
),
split as (
    select fiscal_year_be, budget_plan_code, approach_code, focus_area_code, amount_baht, projects
    from {{ ref('budget_by_approach_focus_year') }}
    where source = 'integration_plan'
)
select coalesce(r.fiscal_year_be, s.fiscal_year_be) as fiscal_year_be,
       coalesce(r.budget_plan_code, s.budget_plan_code) as budget_plan_code,
       coalesce(r.approach_code, s.approach_code) as approach_code,
       coalesce(r.focus_area_code, s.focus_area_code) as focus_area_code,
       r.allocated_baht, s.amount_baht, r.projects, s.projects as split_projects
from rolled as r
full outer join split as s
    on s.fiscal_year_be = r.fiscal_year_be and s.budget_plan_code = r.budget_plan_code
    and s.approach_code is not distinct from r.approach_code
    and s.focus_area_code is not distinct from r.focus_area_code
where r.allocated_baht is distinct from s.amount_baht
   or r.projects is distinct from s.projects
