-- Warns (never fails the night) while a project code is reported by more than one agency's current file;
-- int_project_report_conflicts names the files and which row was kept.
{{ config(severity='warn') }}
select plan_code, reporting_fy_be, project_code, conflicting_files
from {{ ref('int_project_report_conflicts') }}
