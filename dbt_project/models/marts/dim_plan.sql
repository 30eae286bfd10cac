-- One row per Digital Government Development Plan, with its years and how many strategies,
-- capability domains, projects and lead agencies it has (reference seeds plans, plan_projects).
with projects as (
    select plan_code, count(*) as projects, count(distinct lead_agency_id) as lead_agencies
    from {{ ref('plan_projects') }}
    group by plan_code
)
select
    p.plan_code::text as plan_code,
    p.plan_name_th::text as plan_name_th,
    {{ label_th('plan', 'p.plan_code') }}::text as plan_short_th,
    p.plan_name_en::text as plan_name_en,
    p.first_fy_be::integer as fy_from_be,
    p.last_fy_be::integer as fy_to_be,
    p.strategies::integer as strategies,
    p.capability_domains::integer as capability_domains,
    coalesce(pr.projects, 0)::integer as projects,
    coalesce(pr.lead_agencies, 0)::integer as lead_agencies
from {{ ref('plans') }} as p
left join projects as pr on pr.plan_code = p.plan_code
