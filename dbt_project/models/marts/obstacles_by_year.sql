-- Plan x reporting FY x obstacle category: projects reporting each category (zero included).
with reported as (
    select distinct r.plan_code, r.reporting_fy_be, r.project_code, category
    from {{ ref('int_project_reports_current') }} as r
    cross join lateral unnest(string_to_array(r.obstacle_categories, ';')) as category
),
years as (
    select distinct plan_code, reporting_fy_be from {{ ref('int_project_reports_current') }}
)
select
    y.plan_code::text as plan_code,
    {{ label_th('plan', 'y.plan_code') }}::text as plan_name_th,
    y.reporting_fy_be::integer as reporting_fy_be,
    c.category::text as category,
    c.category_name_th::text as category_name_th,
    count(r.project_code)::integer as projects_reporting
from years as y
cross join {{ ref('obstacle_categories') }} as c
left join reported as r
    on r.plan_code = y.plan_code and r.reporting_fy_be = y.reporting_fy_be and r.category = c.category
group by y.plan_code, y.reporting_fy_be, c.category, c.category_name_th
