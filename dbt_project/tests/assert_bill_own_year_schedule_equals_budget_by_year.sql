-- The bill's own-year rows of its obligation schedule are exactly what budget_by_year shows for
-- source budget_bill: the appropriation of each year, with no other year's instalment summed in.
with schedule as (
    select bill_fy_be as fiscal_year_be, budget_plan_code, sum(amount_baht) as amount_baht, sum(line_items) as lines
    from {{ ref('budget_obligation_schedule') }}
    where is_bill_year
    group by 1, 2
),
by_year as (
    select fiscal_year_be, budget_plan_code, amount_baht, line_items as lines
    from {{ ref('budget_by_year') }}
    where source = 'budget_bill'
)
select coalesce(s.fiscal_year_be, y.fiscal_year_be) as fiscal_year_be, s.amount_baht, y.amount_baht
from schedule as s
full join by_year as y on y.fiscal_year_be = s.fiscal_year_be and y.budget_plan_code = s.budget_plan_code
where s.amount_baht is distinct from y.amount_baht or s.lines is distinct from y.lines
