-- FY x agency x submission type: who was expected to submit, what arrived, what was rejected. A
-- rejected file (or a rejected row of a readiness file) counts for the agency and year it was meant for.
-- Expected: lead agencies of projects in a plan running that year (project_report), and the
-- survey's targeted agencies (readiness_survey). Rebuilt by year on a file-only night
-- (macros/night_years.sql): only the years the night's files hold.
{{ config(**night_years_mart_config('submission_coverage')) }}
{%- set years = night_years('submission_coverage') if is_incremental() else none %}

with expected_reports as (
    select distinct p.lead_agency_id as agency_id, y.fy as fiscal_year_be
    from {{ ref('plan_projects') }} as p
    join {{ ref('plans') }} as pl on pl.plan_code = p.plan_code
    cross join lateral generate_series(pl.first_fy_be, pl.last_fy_be) as y(fy)
    where y.fy in (select reporting_fy_be from {{ ref('stg_project_reports') }})
        and {{ years_condition('y.fy', years) }}
),
report_files as (
    select k.agency_id, fy as fiscal_year_be, l.file_id, l.status, l.received_at
    from {{ ref('stg_file_ledger') }} as l
    cross join lateral unnest(l.agency_names) as name
    cross join lateral unnest(l.fiscal_years_be) as fy
    join {{ ref('int_agency_keys') }} as k on k.agency_key = {{ name_key('name') }}
    where l.source = 'project_reports' and {{ years_condition('fy', years) }}
),
-- Rows rejected at the gate, for the agency and year they were meant for.
rejected_rows as (
    select l.source, rr.fiscal_year_be, k.agency_id, count(distinct (rr.file_id, rr.source_row)) as rows_rejected
    from {{ source('ops', 'rejected_rows') }} as rr
    join {{ ref('stg_file_ledger') }} as l on l.file_id = rr.file_id
    join {{ ref('int_agency_keys') }} as k on k.agency_key = {{ name_key('rr.agency_name') }}
    where rr.fiscal_year_be is not null and {{ years_condition('rr.fiscal_year_be', years) }}
    group by l.source, rr.fiscal_year_be, k.agency_id
),
reports as (
    select
        e.fiscal_year_be,
        e.agency_id,
        'project_report' as submission_type,
        count(distinct f.file_id) as files_received,
        count(distinct f.file_id) filter (where f.status = 'rejected') as files_rejected,
        max(f.received_at) as latest_received_at,
        count(distinct f.file_id) filter (where f.status = 'loaded') > 0 as is_complete
    from expected_reports as e
    left join report_files as f on f.agency_id = e.agency_id and f.fiscal_year_be = e.fiscal_year_be
    group by e.fiscal_year_be, e.agency_id
),
-- Every survey row meant for an agency and year: loaded, rejected alone (ops.rejected_rows says for
-- whom), or in a file rejected whole before its rows could be told apart (the ledger's names). By name as
-- written: each distinct name is keyed once below (survey_names).
survey_rows as (
    select r.survey_year_be as fiscal_year_be, r.agency_name, r.file_id, r.responded, false as is_rejected
    from {{ ref('stg_readiness') }} as r
    where {{ years_condition('r.survey_year_be', years) }}
    union all
    select rr.fiscal_year_be, rr.agency_name, rr.file_id, null, true
    from {{ source('ops', 'rejected_rows') }} as rr
    join {{ ref('stg_file_ledger') }} as l on l.file_id = rr.file_id
    where l.source = 'readiness' and rr.agency_name is not null and rr.fiscal_year_be is not null
        and {{ years_condition('rr.fiscal_year_be', years) }}
    union all
    select fy, name, l.file_id, null, true
    from {{ ref('stg_file_ledger') }} as l
    cross join lateral unnest(l.agency_names) as name
    cross join lateral unnest(l.fiscal_years_be) as fy
    where l.source = 'readiness' and l.status = 'rejected' and {{ years_condition('fy', years) }}
      and not exists (select 1 from {{ source('ops', 'rejected_rows') }} as rr
                      where rr.file_id = l.file_id and rr.agency_name is not null)
),
-- materialized: each name keyed once, not once per row joined to it; looked up when the registry writes it so
survey_names as materialized (
    select n.agency_name, coalesce(r.agency_key, {{ name_key('n.agency_name') }}) as agency_key
    from (select distinct agency_name from survey_rows) as n
    left join {{ ref('int_agency_names') }} as r on r.agency_name = n.agency_name
),
survey as (
    select
        s.fiscal_year_be,
        k.agency_id,
        'readiness_survey' as submission_type,
        count(distinct s.file_id) as files_received,
        count(distinct s.file_id) filter (where l.status = 'rejected') as files_rejected,
        max(l.received_at) as latest_received_at,
        coalesce(bool_or(s.responded), false) as is_complete
    from survey_rows as s
    join survey_names as n on n.agency_name = s.agency_name
    join {{ ref('int_agency_keys') }} as k on k.agency_key = n.agency_key
    join {{ ref('stg_file_ledger') }} as l on l.file_id = s.file_id
    group by s.fiscal_year_be, k.agency_id
),
unioned as (
    select * from reports
    union all
    select * from survey
)
select
    u.fiscal_year_be::integer as fiscal_year_be,
    u.agency_id::text as agency_id,
    a.agency_name_th::text as agency_name_th,
    a.agency_level::text as agency_level,
    {{ label_th('agency_level', 'a.agency_level') }}::text as agency_level_name_th,
    u.submission_type::text as submission_type,
    {{ label_th('submission_type', 'u.submission_type') }}::text as submission_type_name_th,
    u.files_received::integer as files_received,
    u.files_rejected::integer as files_rejected,
    coalesce(r.rows_rejected, 0)::integer as rows_rejected,
    u.latest_received_at::timestamptz as latest_received_at,
    coalesce(u.is_complete, false)::boolean as is_complete,
    {{ label_th('complete', 'coalesce(u.is_complete, false)') }}::text as is_complete_th
from unioned as u
left join {{ ref('agencies') }} as a on a.agency_id = u.agency_id
left join rejected_rows as r
    on r.agency_id = u.agency_id and r.fiscal_year_be = u.fiscal_year_be
    and r.source = case u.submission_type when 'project_report' then 'project_reports' else 'readiness' end
