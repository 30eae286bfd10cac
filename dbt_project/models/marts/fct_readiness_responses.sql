-- One row per current readiness survey row: survey year x targeted agency (responded or not),
-- with the six pillar scores and the overall score (mean of the pillars the agency has).
-- Incremental by partition = survey year x agency, the supersession scope: a run rebuilds only the
-- partitions whose newest file changed (see macros/fact_partitions.sql and
-- macros/partitioned_fact_config.sql; vars fy_from/fy_to).
{{ config(**partitioned_fact_config('survey_year_be', ['agency_match_changed'])) }}

with staged as (
    select
        s.*,
        k.agency_id,
        l.received_at,
        s.survey_year_be as partition_fy_be,
        coalesce(k.agency_id, 'name:' || s.agency_key) as partition_key
    from {{ ref('stg_readiness') }} as s
    join {{ ref('stg_file_ledger') }} as l on l.file_id = s.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = s.agency_key
),
newest as (
    {{ newest_file_only('staged', 'partition_fy_be, partition_key') }}
)
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
