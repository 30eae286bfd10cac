-- Bill fiscal year x budget (integration) plan x instalment fiscal year: what each bill schedules
-- for which year. The bill's own-year row is its appropriation (the figure in budget_by_year); the
-- earlier and later instalments of multi-year obligations are kept here and never summed into
-- another year's total. Implausible instalment years are flagged, not dropped.
select
    bill_fy_be::integer as bill_fy_be,
    budget_plan_code::text as budget_plan_code,
    {{ label_th('budget_plan', 'b.budget_plan_code') }}::text as budget_plan_name_th,
    instalment_fy_be::integer as instalment_fy_be,
    (instalment_fy_be - bill_fy_be)::integer as years_from_bill,
    is_year_appropriation::boolean as is_bill_year,
    is_instalment_year_plausible::boolean as is_instalment_year_plausible,
    count(distinct coalesce(agency_id, 'name:' || agency_key))::integer as agencies,
    count(distinct ref_doc)::integer as books,
    count(*)::integer as line_items,
    count(*) filter (where is_obliged)::integer as obliged_line_items,
    coalesce(sum(amount_baht), 0)::numeric(18, 2) as amount_baht
from {{ ref('fct_budget_lines') }} as b
where source = 'budget_bill' and bill_fy_be is not null and budget_plan_code is not null
group by bill_fy_be, budget_plan_code, instalment_fy_be, is_year_appropriation, is_instalment_year_plausible
