-- FY x budget (integration) plan x approach x focus area x agency: what agencies requested in the
-- integration plan against what was allocated. budget_by_approach_focus_year has the same split
-- without agency and without requests; this adds both at a finer grain (integration plan only:
-- the budget bill has no requests). Names the registry does not know keep agency_id null and
-- their name as written, as in budget_by_agency_year.
select
    b.fiscal_year_be::integer as fiscal_year_be,
    b.budget_plan_code::text as budget_plan_code,
    {{ label_th('budget_plan', 'b.budget_plan_code') }}::text as budget_plan_name_th,
    b.approach_code::text as approach_code,
    min(ap.approach_name_th)::text as approach_name_th,
    {{ label_th('approach', 'b.approach_code') }}::text as approach_label_th,
    b.focus_area_code::text as focus_area_code,
    min(fa.focus_area_name_th)::text as focus_area_name_th,
    b.agency_id::text as agency_id,
    coalesce(a.agency_name_th, min(b.agency_name))::text as agency_name_th,
    count(distinct b.project_key)::integer as projects,
    coalesce(sum(b.requested_baht), 0)::numeric(18, 2) as requested_baht,
    coalesce(sum(b.amount_baht), 0)::numeric(18, 2) as allocated_baht,
    (coalesce(sum(b.requested_baht), 0) - coalesce(sum(b.amount_baht), 0))::numeric(18, 2) as not_allocated_baht,
    round(100.0 * sum(b.amount_baht) / nullif(sum(b.requested_baht), 0), 2)::numeric(7, 2) as pct_allocated
from {{ ref('fct_budget_lines') }} as b
left join {{ ref('agencies') }} as a on a.agency_id = b.agency_id
left join {{ ref('approaches') }} as ap on ap.approach_code = b.approach_code
left join {{ ref('focus_areas') }} as fa on fa.focus_area_code = b.focus_area_code
where b.source = 'integration_plan' and b.fiscal_year_be is not null and b.budget_plan_code is not null
group by b.fiscal_year_be, b.budget_plan_code, b.approach_code, b.focus_area_code, b.agency_id, a.agency_name_th,
    case when b.agency_id is null then b.agency_key end
