-- One row: how current the marts are. A view, so it reads ops.pipeline_runs when it is queried: the
-- night that just succeeded shows at once, and a night with nothing to build (dbt skipped) still
-- counts. Data are as of the last successful night; the last night's own status is shown beside it.
{{ config(materialized='view') }}
with runs as (
    select run_id, finished_at, coalesce(finished_at, started_at) as run_at, status
    from {{ source('ops', 'pipeline_runs') }}
),
latest as (
    select
        (select r.run_id from runs as r where r.status = 'success' and r.finished_at is not null
         order by r.finished_at desc limit 1) as success_run_id,
        (select r.run_id from runs as r order by r.run_at desc limit 1) as last_run_id
),
nights as (
    select
        s.run_id,
        s.finished_at,
        s.finished_at at time zone 'Asia/Bangkok' as bangkok,
        n.run_at as last_run_at,
        n.status as last_run_status
    from latest as l
    left join runs as s on s.run_id = l.success_run_id
    left join runs as n on n.run_id = l.last_run_id
)
select
    finished_at::timestamptz as data_as_of,
    (extract(day from bangkok)::integer || ' '
        || (array['ม.ค.', 'ก.พ.', 'มี.ค.', 'เม.ย.', 'พ.ค.', 'มิ.ย.', 'ก.ค.', 'ส.ค.', 'ก.ย.', 'ต.ค.', 'พ.ย.',
                  'ธ.ค.'])[extract(month from bangkok)::integer]
        || ' ' || (extract(year from bangkok)::integer + 543) || ' ' || to_char(bangkok, 'HH24:MI') || ' น.'
    )::text as data_as_of_th,
    run_id::text as run_id,
    last_run_at::timestamptz as last_run_at,
    last_run_status::text as last_run_status,
    {{ label_th('run_status', 'nights.last_run_status') }}::text as last_run_status_th
from nights
