-- FY x budget plan x source x agency. Names the registry does not know keep agency_id null
-- and their name as written (they are listed in the nightly summary).
select
    b.fiscal_year_be::integer as fiscal_year_be,
    b.budget_plan_code::text as budget_plan_code,
    {{ label_th('budget_plan', 'b.budget_plan_code') }}::text as budget_plan_name_th,
    b.source::text as source,
    {{ label_th('source', 'b.source') }}::text as source_name_th,
    b.agency_id::text as agency_id,
    coalesce(a.agency_name_th, min(b.agency_name))::text as agency_name_th,
    count(distinct b.project_key)::integer as projects,
    coalesce(sum(b.amount_baht), 0)::numeric(18, 2) as amount_baht
from {{ ref('fct_budget_lines') }} as b
left join {{ ref('agencies') }} as a on a.agency_id = b.agency_id
where b.fiscal_year_be is not null and b.budget_plan_code is not null and b.is_year_appropriation
group by b.fiscal_year_be, b.budget_plan_code, b.source, b.agency_id, a.agency_name_th,
    case when b.agency_id is null then b.agency_key end
