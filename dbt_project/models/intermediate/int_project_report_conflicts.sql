-- Project codes reported for the same plan and year by more than one agency's current file: every
-- claiming row, the files that claim the code, and whether the row was kept (the lead agency's).
with {{ project_report_claims() }}
select
    c.plan_code,
    c.reporting_fy_be,
    c.project_code,
    c.file_id,
    l.path,
    c.agency_id,
    c.agency_name,
    c.source_row,
    k.lead_agency_id,
    {{ project_report_claim_kept('c', 'k') }} as is_kept,
    k.files as files_claiming,
    (
        select string_agg(distinct l2.path, ' | ')
        from current_rows as c2
        join {{ ref('stg_file_ledger') }} as l2 on l2.file_id = c2.file_id
        where c2.plan_code = c.plan_code and c2.reporting_fy_be = c.reporting_fy_be
          and c2.project_code = c.project_code
    ) as conflicting_files
from current_rows as c
join claims as k
    on k.plan_code = c.plan_code and k.reporting_fy_be = c.reporting_fy_be and k.project_code = c.project_code
join {{ ref('stg_file_ledger') }} as l on l.file_id = c.file_id
where k.files > 1
