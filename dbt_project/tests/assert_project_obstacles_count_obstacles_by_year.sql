-- project_obstacles (one row per project and category) counts what obstacles_by_year reports per plan,
-- reporting year and category: any row here is a mismatch.
with long as (
    select plan_code, reporting_fy_be, category, count(distinct project_id) as projects
    from {{ ref('project_obstacles') }}
    group by plan_code, reporting_fy_be, category
)
select o.plan_code, o.reporting_fy_be, o.category, o.projects_reporting, coalesce(l.projects, 0) as projects
from {{ ref('obstacles_by_year') }} as o
full join long as l
    on l.plan_code = o.plan_code and l.reporting_fy_be = o.reporting_fy_be and l.category = o.category
where coalesce(o.projects_reporting, -1) <> coalesce(l.projects, 0)
