-- One row per plan project (reference seed plan_projects), with its lead agency and the supporting
-- agencies the data names: the plan seed lists only the lead, so a supporting agency is a registered
-- agency other than the lead that has reported on the project in any loaded status report.
with reporters as (
    select distinct r.plan_code, r.project_code, k.agency_id
    from {{ ref('stg_project_reports') }} as r
    join {{ ref('int_agency_keys') }} as k on k.agency_key = r.agency_key
),
supporting as (
    select
        p.plan_code,
        p.project_code,
        string_agg(r.agency_id, '; ' order by r.agency_id) as agency_ids,
        count(*) as agencies
    from {{ ref('plan_projects') }} as p
    join reporters as r
        on r.plan_code = p.plan_code and r.project_code = p.project_code and r.agency_id <> p.lead_agency_id
    group by p.plan_code, p.project_code
)
select
    p.project_code::text as project_id,
    p.plan_code::text as plan_code,
    {{ label_th('plan', 'p.plan_code') }}::text as plan_name_th,
    p.project_name_th::text as project_name_th,
    p.strategy_no::integer as strategy_no,
    p.capability_domain_no::integer as capability_domain_code,
    d.domain_name_th::text as capability_domain_name_th,
    d.phase::integer as capability_domain_phase,
    p.lead_agency_id::text as lead_agency_id,
    a.agency_name_th::text as lead_agency_name_th,
    s.agency_ids::text as supporting_agency_ids,
    coalesce(s.agencies, 0)::integer as supporting_agencies,
    p.planned_start_fy_be::integer as planned_start_fy_be
from {{ ref('plan_projects') }} as p
left join {{ ref('agencies') }} as a on a.agency_id = p.lead_agency_id
left join {{ ref('capability_domains') }} as d on d.capability_domain_no = p.capability_domain_no
left join supporting as s on s.plan_code = p.plan_code and s.project_code = p.project_code
