-- Current project reports: for each agency and reporting year, the newest file's rows; a project code
-- that two agencies' current files both report is kept for its lead agency only (project_report_claims).
with {{ project_report_claims() }}
select c.*
from current_rows as c
join claims as k
    on k.plan_code = c.plan_code and k.reporting_fy_be = c.reporting_fy_be and k.project_code = c.project_code
where {{ project_report_claim_kept('c', 'k') }}
