-- Current project reports: for each agency and reporting year, the newest file's rows.
{{ newest_file_rows('stg_project_reports', 'coalesce(agency_id, agency_key), reporting_fy_be') }}
