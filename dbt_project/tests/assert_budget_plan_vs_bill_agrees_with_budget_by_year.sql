-- Reconcile: per fiscal year and budget plan, budget_plan_vs_bill's allocations add up to
-- budget_by_year's integration_plan amount and its bill amounts and lines (matched and unmatched)
-- to the budget_bill amount and line items: every line is counted once, on one side or the other.
with mart as (
    select fiscal_year_be, budget_plan_code,
           sum(allocated_baht) as allocated_baht,
           count(project_code) as projects,
           sum(bill_baht) as bill_baht,
           sum(bill_lines) as bill_lines
    from {{ ref('budget_plan_vs_bill') }}
    group by fiscal_year_be, budget_plan_code
),
by_year as (
    select fiscal_year_be, budget_plan_code,
           sum(amount_baht) filter (where source = 'integration_plan') as allocated_baht,
           sum(line_items) filter (where source = 'integration_plan') as projects,
           coalesce(sum(amount_baht) filter (where source = 'budget_bill'), 0) as bill_baht,
           coalesce(sum(line_items) filter (where source = 'budget_bill'), 0) as bill_lines
    from {{ ref('budget_by_year') }}
    group by fiscal_year_be, budget_plan_code
)
select coalesce(m.fiscal_year_be, y.fiscal_year_be) as fiscal_year_be,
       coalesce(m.budget_plan_code, y.budget_plan_code) as budget_plan_code,
       m.allocated_baht, y.allocated_baht as by_year_allocated_baht,
       m.bill_baht, y.bill_baht as by_year_bill_baht,
       m.bill_lines, y.bill_lines as by_year_bill_lines
from mart as m
full outer join by_year as y on y.fiscal_year_be = m.fiscal_year_be and y.budget_plan_code = m.budget_plan_code
where m.allocated_baht is distinct from y.allocated_baht
   or coalesce(m.projects, 0) <> coalesce(y.projects, 0)
   or coalesce(m.bill_baht, 0) <> coalesce(y.bill_baht, 0)
   or coalesce(m.bill_lines, 0) <> coalesce(y.bill_lines, 0)
