-- Current integration-plan rows: for each agency and fiscal year, the newest file's rows.
{{ newest_file_rows('stg_integration_plan', 'coalesce(agency_id, agency_key), fiscal_year_be') }}
