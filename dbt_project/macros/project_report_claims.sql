{#
  Cross-agency duplicate project codes. current_rows: the newest file's rows per agency and
  reporting year (newest_file_rows). claims: per plan, reporting year and project code, how many of those
  current files report it, and how many of them are the project's lead agency's (seed plan_projects).
  A code reported by more than one file is a conflict: the lead agency's row stays when exactly one of
  the files is the lead's, otherwise none of them does (int_project_report_conflicts names the files), so
  one agency's mistake never fails the build for everyone.
#}
{% macro project_report_claims() -%}
current_rows as (
{{ newest_file_rows('stg_project_reports', 'coalesce(agency_id, agency_key), reporting_fy_be') }}
),
leads as (
    select lower(trim(plan_code)) as plan_code, upper(trim(project_code)) as project_code, lead_agency_id
    from {{ ref('plan_projects') }}
),
claims as (
    select
        c.plan_code,
        c.reporting_fy_be,
        c.project_code,
        count(distinct c.file_id) as files,
        count(distinct c.file_id) filter (where c.agency_id = p.lead_agency_id) as lead_files,
        min(p.lead_agency_id) as lead_agency_id
    from current_rows as c
    left join leads as p on p.plan_code = c.plan_code and p.project_code = c.project_code
    group by c.plan_code, c.reporting_fy_be, c.project_code
)
{%- endmacro %}

{% macro project_report_claim_kept(row, claim) -%}
({{ claim }}.files = 1 or ({{ claim }}.lead_files = 1 and {{ row }}.agency_id = {{ claim }}.lead_agency_id))
{%- endmacro %}
