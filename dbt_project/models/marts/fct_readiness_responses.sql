-- One row per current readiness survey row: survey year x targeted agency (responded or not),
-- with the six pillar scores and the overall score (mean of the pillars the agency has).
-- Incremental by partition = survey year x agency, the supersession scope: a run rebuilds only the
-- partitions whose newest file changed (see macros/fact_partitions.sql and
-- macros/partitioned_fact_config.sql; vars fy_from/fy_to), looking only at the partitions of files whose
-- rows it does not all hold.
{{ config(**partitioned_fact_config('survey_year_be', ['agency_match_changed'])) }}
{%- set night_files = night_files() if is_incremental() and fy_range() is none else none %}

with
{%- if is_incremental() and night_files is none %}
-- Files whose rows the fact does not all hold: new files, files superseded in some partition and files
-- whose partitions the pre-hook deleted. Only their partitions can need a rebuild, so a night's work
-- follows what arrived, not the history (every row of a held file is in the fact: one per partition).
staged_counts as (
    select file_id, count(*) as n from {{ ref('stg_readiness') }} group by file_id
),
held_counts as (
    select file_id, count(*) as n from {{ this }} group by file_id
),
pending_files as (
    select s.file_id
    from staged_counts as s
    join {{ ref('stg_file_ledger') }} as l on l.file_id = s.file_id
    left join held_counts as h on h.file_id = s.file_id
    where h.n is distinct from s.n
),
{%- endif %}
staged as (
    select
        s.*,
        k.agency_id,
        l.received_at,
        s.survey_year_be as partition_fy_be,
        coalesce(k.agency_id, 'name:' || s.agency_key) as partition_key
    from {{ ref('stg_readiness') }} as s
    join {{ ref('stg_file_ledger') }} as l on l.file_id = s.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = s.agency_key
    {%- if night_files is not none %}
    -- a file-only night: only the partitions of the night's files can change (macros/night_years.sql)
    where s.file_id = any({{ night_files }})
    {%- elif is_incremental() %}
    where s.file_id in (select file_id from pending_files)
    {%- endif %}
),
{%- if is_incremental() %}
-- The current files the fact holds in those partitions: a pending file older than them changes nothing.
held as (
    select distinct h.survey_year_be as partition_fy_be, h.partition_key, h.file_id, l.received_at
    from {{ this }} as h
    join {{ ref('stg_file_ledger') }} as l on l.file_id = h.file_id
    where exists (select 1 from staged as c
                  where c.partition_fy_be = h.survey_year_be and c.partition_key = h.partition_key)
),
files as (
    select partition_fy_be, partition_key, file_id, received_at from staged
    union
    select partition_fy_be, partition_key, file_id, received_at from held
),
newest_files as (
    {{ newest_file_only('files', 'partition_fy_be, partition_key') }}
),
newest as (
    select s.*
    from staged as s
    join newest_files as n
        on n.partition_fy_be = s.partition_fy_be and n.partition_key = s.partition_key and n.file_id = s.file_id
)
{%- else %}
newest as (
    {{ newest_file_only('staged', 'partition_fy_be, partition_key') }}
)
{%- endif %}
select
    s.survey_year_be::integer as survey_year_be,
    s.partition_key::text as partition_key,
    s.agency_id::text as agency_id,
    s.agency_key::text as agency_key,
    s.agency_name::text as agency_name,
    s.agency_level::text as agency_level,
    s.province_name::text as province_name,
    s.responded::boolean as responded,
    s.score_strategy::numeric(5, 2) as score_strategy,
    s.score_public_services::numeric(5, 2) as score_public_services,
    s.score_infrastructure::numeric(5, 2) as score_infrastructure,
    s.score_data::numeric(5, 2) as score_data,
    s.score_personnel::numeric(5, 2) as score_personnel,
    s.score_regulation::numeric(5, 2) as score_regulation,
    (
        select round(avg(score), 2)
        from unnest(array[s.score_strategy, s.score_public_services, s.score_infrastructure,
                          s.score_data, s.score_personnel, s.score_regulation]) as score
    )::numeric(5, 2) as overall_score,
    s.submitted_on::date as submitted_on,
    s.file_id::bigint as file_id,
    s.source_sheet::text as source_sheet,
    s.source_row::integer as source_row,
    s.received_at::timestamptz as received_at,
    {{ build_columns() }}
from newest as s
where {{ needs_build('s', 'survey_year_be') }}
