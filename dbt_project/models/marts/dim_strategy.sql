-- Plan x strategy. The source documents number the strategies ("ยุทธศาสตร์ที่ ๔") but do not name
-- them, so the Thai label is the number as the documents write it ("ยุทธศาสตร์ที่ 1").
with projects as (
    select plan_code, strategy_no, count(*) as projects, count(distinct lead_agency_id) as lead_agencies
    from {{ ref('plan_projects') }}
    group by plan_code, strategy_no
)
select
    s.plan_code::text as plan_code,
    {{ label_th('plan', 's.plan_code') }}::text as plan_name_th,
    s.strategy_no::integer as strategy_no,
    ('ยุทธศาสตร์ที่ ' || s.strategy_no)::text as strategy_name_th,
    ('Strategy ' || s.strategy_no)::text as strategy_name_en,
    coalesce(pr.projects, 0)::integer as projects,
    coalesce(pr.lead_agencies, 0)::integer as lead_agencies
from {{ ref('plan_strategies') }} as s
left join projects as pr on pr.plan_code = s.plan_code and pr.strategy_no = s.strategy_no
