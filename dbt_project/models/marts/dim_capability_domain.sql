-- The 26 capability domains (ขีดความสามารถ) with the plan phase that covers each: phase 1 (the
-- BE 2559-2561 plan) covers 18, phase 2 (BE 2560-2564) adds the other 8 (seeds 000 and 002).
with projects as (
    select capability_domain_no, count(*) as projects
    from {{ ref('plan_projects') }}
    group by capability_domain_no
)
select
    d.capability_domain_no::integer as capability_domain_code,
    d.domain_name_th::text as domain_name_th,
    d.domain_name_en::text as domain_name_en,
    d.phase::integer as phase,
    (d.phase = 2)::boolean as is_phase_2_addition,
    coalesce(pr.projects, 0)::integer as projects
from {{ ref('capability_domains') }} as d
left join projects as pr on pr.capability_domain_no = d.capability_domain_no
