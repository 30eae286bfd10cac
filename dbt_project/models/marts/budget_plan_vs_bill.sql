-- FY x integration-plan project: requested and allocated (DGA's integration plan) against the budget
-- bill's line items matched to the project, with the rule that matched them; bill lines matching no
-- project are rows of their own (project_code null). The rules, strongest first (see the YAML):
--   1 same_agency_same_name      same FY, budget plan and agency, same project-name key
--   2 same_agency_name_contains  same FY, budget plan and agency, one name key contains the other
--   3 same_name_other_agency     same FY and budget plan, same project-name key, agency differs or unknown
-- A bill line takes the first rule under which it has any candidate project, and is matched only
-- when that rule gives exactly one (else: ambiguous). Nothing else is guessed.
{# The bill's own appropriation for its year, as budget_by_year counts it: fct_budget_lines'
   fiscal_year_be is the bill's year (bill_fy_be) and is_year_appropriation marks the lines whose
   instalment year is the bill's year; the other instalments are the obligation schedule. #}
{% set bill_year, own_year = 'fiscal_year_be', 'is_year_appropriation' %}
with lines as (
    select
        *,
        coalesce(agency_id, 'name:' || agency_key) as agency_ref,
        {{ project_name_key('coalesce(project_name, project_key)') }} as name_key
    from {{ ref('fct_budget_lines') }}
    where budget_plan_code is not null
),
plan as (
    select fiscal_year_be, budget_plan_code, project_code, project_name, agency_id, agency_name, agency_ref,
           name_key, approach_code, focus_area_code, requested_baht, amount_baht as allocated_baht
    from lines
    where source = 'integration_plan' and fiscal_year_be is not null
),
bill as (
    select {{ bill_year }} as fiscal_year_be, budget_plan_code, line_key, item_id, project_name, agency_id,
           agency_name, agency_ref, name_key, amount_baht
    from lines
    where source = 'budget_bill' and {{ bill_year }} is not null and {{ own_year }}
),
candidates as (
    select
        b.line_key,
        p.project_code,
        case
            when b.agency_ref = p.agency_ref and b.name_key = p.name_key then 1
            when b.agency_ref = p.agency_ref and least(length(b.name_key), length(p.name_key)) >= 8
                 and (strpos(b.name_key, p.name_key) > 0 or strpos(p.name_key, b.name_key) > 0) then 2
            when b.name_key = p.name_key then 3
        end as rule_rank
    from bill as b
    join plan as p
        on p.fiscal_year_be = b.fiscal_year_be
        and p.budget_plan_code = b.budget_plan_code
        and (p.agency_ref = b.agency_ref or p.name_key = b.name_key)
    where b.name_key <> '' and p.name_key <> ''
),
first_rule as (
    select line_key, min(rule_rank) as rule_rank
    from candidates
    where rule_rank is not null
    group by line_key
),
decided as (
    select
        c.line_key,
        f.rule_rank,
        case when count(*) = 1 then min(c.project_code) end as project_code
    from first_rule as f
    join candidates as c on c.line_key = f.line_key and c.rule_rank = f.rule_rank
    group by c.line_key, f.rule_rank
),
bill_matched as (
    select
        b.*,
        d.project_code,
        case
            when d.project_code is not null then d.rule_rank
            when d.rule_rank is not null then 8
            else 9
        end as rule_rank
    from bill as b
    left join decided as d on d.line_key = b.line_key
),
rule_names (rule_rank, match_rule) as (
    values (1, 'same_agency_same_name'), (2, 'same_agency_name_contains'), (3, 'same_name_other_agency'),
           (7, 'no_bill_line'), (8, 'ambiguous_bill_line'), (9, 'unmatched_bill_line')
),
per_project as (
    select
        p.fiscal_year_be,
        p.budget_plan_code,
        p.project_code,
        p.project_name,
        p.agency_id,
        p.agency_name,
        p.approach_code,
        p.focus_area_code,
        p.requested_baht,
        p.allocated_baht,
        coalesce(sum(m.amount_baht), 0) as bill_baht,
        count(m.line_key) as bill_lines,
        -- the weakest rule any of its lines needed, so a fallback shows
        coalesce(max(m.rule_rank), 7) as rule_rank
    from plan as p
    left join bill_matched as m
        on m.fiscal_year_be = p.fiscal_year_be and m.budget_plan_code = p.budget_plan_code
        and m.project_code = p.project_code
    group by p.fiscal_year_be, p.budget_plan_code, p.project_code, p.project_name, p.agency_id, p.agency_name,
             p.approach_code, p.focus_area_code, p.requested_baht, p.allocated_baht
),
unmatched_lines as (
    select
        fiscal_year_be,
        budget_plan_code,
        null::text as project_code,
        project_name,
        agency_id,
        agency_name,
        null::text as approach_code,
        null::text as focus_area_code,
        null::numeric as requested_baht,
        null::numeric as allocated_baht,
        coalesce(amount_baht, 0) as bill_baht,
        1 as bill_lines,
        rule_rank,
        line_key,
        item_id
    from bill_matched
    where project_code is null
),
unioned as (
    select *, null::text as line_key, null::text as item_id from per_project
    union all
    select * from unmatched_lines
)
select
    (u.fiscal_year_be || '|' || u.budget_plan_code || '|'
        || coalesce('project:' || u.project_code, 'bill:' || u.line_key))::text as row_key,
    u.fiscal_year_be::integer as fiscal_year_be,
    u.budget_plan_code::text as budget_plan_code,
    {{ label_th('budget_plan', 'u.budget_plan_code') }}::text as budget_plan_name_th,
    u.project_code::text as project_code,
    u.project_name::text as project_name_th,
    u.agency_id::text as agency_id,
    coalesce(a.agency_name_th, u.agency_name)::text as agency_name_th,
    u.approach_code::text as approach_code,
    {{ label_th('approach', 'u.approach_code') }}::text as approach_label_th,
    u.focus_area_code::text as focus_area_code,
    {{ label_th('focus_area', 'u.focus_area_code') }}::text as focus_area_name_th,
    u.requested_baht::numeric(18, 2) as requested_baht,
    u.allocated_baht::numeric(18, 2) as allocated_baht,
    u.bill_baht::numeric(18, 2) as bill_baht,
    u.bill_lines::integer as bill_lines,
    r.match_rule::text as match_rule,
    {{ label_th('match_rule', 'r.match_rule') }}::text as match_rule_name_th,
    u.item_id::text as bill_item_id
from unioned as u
join rule_names as r on r.rule_rank = u.rule_rank
left join {{ ref('agencies') }} as a on a.agency_id = u.agency_id
