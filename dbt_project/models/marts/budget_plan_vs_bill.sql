-- FY x integration-plan project: requested and allocated (DGA's integration plan) against the budget
-- bill's line items matched to the project, with the rule that matched them; bill lines matching no
-- project are rows of their own (project_code null). The rules, strongest first (see the YAML):
--   1 same_agency_same_name      same FY, budget plan and agency, same project-name key
--   2 same_agency_name_contains  same FY, budget plan and agency, one name key contains the other
--   3 same_name_other_agency     same FY and budget plan, same project-name key, agency differs or unknown
-- A bill line takes the first rule under which it has any candidate project, and is matched only
-- when that rule gives exactly one (else: ambiguous). Nothing else is guessed: an unmatched project or
-- line only says why (unmatched_reason) and names its nearest counterpart, with the names' similarity.
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
-- Near misses: each bill line against each plan project of its fiscal year and budget plan that has its
-- agency or shares part of its name, with the similarity of their name keys (0-1, as pg_trgm counts it).
plan_grams as (
    select fiscal_year_be, budget_plan_code, project_code, agency_ref, allocated_baht,
           {{ name_trigrams('name_key') }} as grams
    from plan
),
bill_grams as (
    select fiscal_year_be, budget_plan_code, line_key, agency_ref, amount_baht,
           {{ name_trigrams('name_key') }} as grams
    from bill
),
pairs as (
    select
        b.fiscal_year_be,
        b.budget_plan_code,
        b.line_key,
        p.project_code,
        b.agency_ref = p.agency_ref as is_same_agency,
        coalesce(b.amount_baht = p.allocated_baht, false) as is_same_amount,
        {{ name_similarity('b.grams', 'p.grams') }} as similarity
    from bill_grams as b
    join plan_grams as p on p.fiscal_year_be = b.fiscal_year_be and p.budget_plan_code = b.budget_plan_code
    where b.agency_ref = p.agency_ref or b.grams && p.grams
),
-- The nearest counterpart: of the same agency first, then of the same amount, then the most alike name.
bill_nearest as (
    select distinct on (line_key) line_key, project_code, similarity, is_same_agency, is_same_amount
    from pairs
    order by line_key asc, is_same_agency desc, is_same_amount desc, similarity desc, project_code asc
),
project_nearest as (
    select distinct on (fiscal_year_be, budget_plan_code, project_code)
        fiscal_year_be, budget_plan_code, project_code, line_key, similarity, is_same_agency, is_same_amount
    from pairs
    order by fiscal_year_be asc, budget_plan_code asc, project_code asc, is_same_agency desc, is_same_amount desc,
        similarity desc, line_key asc
),
plan_years as (
    select distinct fiscal_year_be, budget_plan_code from plan
),
bill_plan_years as (
    select distinct fiscal_year_be, budget_plan_code from bill
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
projects_explained as (
    select
        pp.*,
        null::text as line_key,
        null::text as item_id,
        case
            when pp.bill_lines > 0 then null
            when bpy.fiscal_year_be is null then 'no_bill_for_year'
            when n.is_same_agency is not true then 'no_bill_line_of_agency'
            when n.is_same_amount then 'name_differs_amount_equal'
            else 'name_differs'
        end as unmatched_reason,
        case when pp.bill_lines = 0 then n.line_key end as nearest_line_key,
        null::text as nearest_project_code,
        case when pp.bill_lines = 0 then n.similarity end as nearest_similarity,
        case when pp.bill_lines = 0 then n.is_same_agency end as nearest_is_same_agency
    from per_project as pp
    left join bill_plan_years as bpy
        on bpy.fiscal_year_be = pp.fiscal_year_be and bpy.budget_plan_code = pp.budget_plan_code
    left join project_nearest as n
        on n.fiscal_year_be = pp.fiscal_year_be and n.budget_plan_code = pp.budget_plan_code
        and n.project_code = pp.project_code
),
unmatched_lines as (
    select
        m.fiscal_year_be,
        m.budget_plan_code,
        null::text as project_code,
        m.project_name,
        m.agency_id,
        m.agency_name,
        null::text as approach_code,
        null::text as focus_area_code,
        null::numeric as requested_baht,
        null::numeric as allocated_baht,
        coalesce(m.amount_baht, 0) as bill_baht,
        1 as bill_lines,
        m.rule_rank,
        m.line_key,
        m.item_id,
        case
            when m.rule_rank = 8 then 'several_candidates'
            when py.fiscal_year_be is null then 'no_plan_for_year'
            when n.is_same_agency is not true then 'no_plan_project_of_agency'
            when n.is_same_amount then 'name_differs_amount_equal'
            else 'name_differs'
        end as unmatched_reason,
        null::text as nearest_line_key,
        n.project_code as nearest_project_code,
        n.similarity as nearest_similarity,
        n.is_same_agency as nearest_is_same_agency
    from bill_matched as m
    left join plan_years as py
        on py.fiscal_year_be = m.fiscal_year_be and py.budget_plan_code = m.budget_plan_code
    left join bill_nearest as n on n.line_key = m.line_key
    where m.project_code is null
),
unioned as (
    select * from projects_explained
    union all
    select * from unmatched_lines
),
bill_years as (
    select distinct {{ bill_year }} as fiscal_year_be
    from {{ ref('fct_budget_lines') }}
    where source = 'budget_bill' and {{ own_year }}
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
    u.item_id::text as bill_item_id,
    u.unmatched_reason::text as unmatched_reason,
    {{ label_th('unmatched_reason', 'u.unmatched_reason') }}::text as unmatched_reason_th,
    coalesce(u.nearest_project_code, nb.item_id)::text as nearest_code,
    coalesce(np.project_name, nb.project_name)::text as nearest_name_th,
    coalesce(na.agency_name_th, np.agency_name, nb.agency_name)::text as nearest_agency_name_th,
    coalesce(np.allocated_baht, nb.amount_baht)::numeric(18, 2) as nearest_amount_baht,
    round(100 * u.nearest_similarity, 2)::numeric(5, 2) as nearest_similarity_pct,
    u.nearest_is_same_agency::boolean as nearest_is_same_agency,
    (y.fiscal_year_be is not null)::boolean as has_bill_for_year,
    {{ label_th('bill_year', 'y.fiscal_year_be is not null') }}::text as has_bill_for_year_th
from unioned as u
join rule_names as r on r.rule_rank = u.rule_rank
left join {{ ref('agencies') }} as a on a.agency_id = u.agency_id
left join plan as np
    on np.fiscal_year_be = u.fiscal_year_be and np.budget_plan_code = u.budget_plan_code
    and np.project_code = u.nearest_project_code
left join bill as nb on nb.line_key = u.nearest_line_key
left join {{ ref('agencies') }} as na on na.agency_id = coalesce(np.agency_id, nb.agency_id)
left join bill_years as y on y.fiscal_year_be = u.fiscal_year_be
