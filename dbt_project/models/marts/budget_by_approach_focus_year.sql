-- FY x budget plan x source x approach x focus area: projects, agencies and amounts.
-- Integration-plan rows carry their approach and focus area. Budget-bill lines carry neither: a
-- bill line takes them from the integration-plan project of the same fiscal year, budget plan and
-- agency with the same name (name key), when exactly one classification matches; otherwise both
-- stay null (unclassified). Nothing is guessed beyond that exact match.
with lines as (
    select
        *,
        coalesce(agency_id, 'name:' || agency_key) as agency_ref,
        {{ name_key('project_name') }} as project_name_key
    from {{ ref('fct_budget_lines') }}
    where fiscal_year_be is not null and budget_plan_code is not null and is_year_appropriation
),
plan_classes as (
    select fiscal_year_be, budget_plan_code, agency_ref, project_name_key,
           min(approach_code) as approach_code, min(focus_area_code) as focus_area_code
    from lines
    where source = 'integration_plan' and project_name_key <> ''
    group by fiscal_year_be, budget_plan_code, agency_ref, project_name_key
    having count(distinct coalesce(approach_code, '') || '|' || coalesce(focus_area_code, '')) = 1
),
classified as (
    select
        l.fiscal_year_be,
        l.budget_plan_code,
        l.source,
        case when l.source = 'integration_plan' then l.approach_code else c.approach_code end as approach_code,
        case when l.source = 'integration_plan' then l.focus_area_code else c.focus_area_code end as focus_area_code,
        l.agency_ref,
        l.project_key,
        l.amount_baht
    from lines as l
    left join plan_classes as c
        on l.source = 'budget_bill'
        and c.fiscal_year_be = l.fiscal_year_be
        and c.budget_plan_code = l.budget_plan_code
        and c.agency_ref = l.agency_ref
        and c.project_name_key = l.project_name_key
)
select
    c.fiscal_year_be::integer as fiscal_year_be,
    c.budget_plan_code::text as budget_plan_code,
    {{ label_th('budget_plan', 'c.budget_plan_code') }}::text as budget_plan_name_th,
    c.source::text as source,
    {{ label_th('source', 'c.source') }}::text as source_name_th,
    c.approach_code::text as approach_code,
    min(a.approach_name_th)::text as approach_name_th,
    {{ label_th('approach', 'c.approach_code') }}::text as approach_label_th,
    c.focus_area_code::text as focus_area_code,
    min(f.focus_area_name_th)::text as focus_area_name_th,
    count(distinct c.agency_ref || '|' || c.project_key)::integer as projects,
    count(distinct c.agency_ref)::integer as agencies,
    coalesce(sum(c.amount_baht), 0)::numeric(18, 2) as amount_baht,
    round(coalesce(sum(c.amount_baht), 0) / 1000000, 4)::numeric(18, 4) as amount_million_baht,
    count(*)::integer as line_items
from classified as c
left join {{ ref('approaches') }} as a on a.approach_code = c.approach_code
left join {{ ref('focus_areas') }} as f on f.focus_area_code = c.focus_area_code
group by c.fiscal_year_be, c.budget_plan_code, c.source, c.approach_code, c.focus_area_code
