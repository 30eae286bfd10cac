-- FY x budget plan x source. Integration plans only (other plans stay in staging).
-- Budget-bill lines count in their bill's own year only (is_year_appropriation); rows whose amount
-- could not be read are rejected at the gate (line_items_unparsed stays for older loads).
select
    fiscal_year_be::integer as fiscal_year_be,
    budget_plan_code::text as budget_plan_code,
    {{ label_th('budget_plan', 'b.budget_plan_code') }}::text as budget_plan_name_th,
    source::text as source,
    {{ label_th('source', 'b.source') }}::text as source_name_th,
    count(distinct coalesce(agency_id, 'name:' || agency_key))::integer as agencies,
    count(distinct coalesce(agency_id, 'name:' || agency_key) || '|' || project_key)::integer as projects,
    coalesce(sum(amount_baht), 0)::numeric(18, 2) as amount_baht,
    round(coalesce(sum(amount_baht), 0) / 1000000, 4)::numeric(18, 4) as amount_million_baht,
    count(*)::integer as line_items,
    count(*) filter (where is_amount_unparsed)::integer as line_items_unparsed,
    count(*) filter (where has_extraction_warning)::integer as line_items_with_warnings
from {{ ref('fct_budget_lines') }} as b
where fiscal_year_be is not null and budget_plan_code is not null and is_year_appropriation
group by fiscal_year_be, budget_plan_code, source
