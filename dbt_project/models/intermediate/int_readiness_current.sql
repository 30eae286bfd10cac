-- Current readiness rows (newest file per agency and survey year), with the overall score:
-- the mean of the pillar scores an agency has.
with rows as (
    select r.*, k.agency_id, l.received_at
    from {{ ref('stg_readiness') }} as r
    join {{ ref('stg_file_ledger') }} as l on l.file_id = r.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = r.agency_key
),
ranked as (
    select *, {{ newest_file_rank('coalesce(agency_id, agency_key), survey_year_be') }} as recency
    from rows
)
select
    *,
    (
        select round(avg(s), 2)
        from unnest(array[score_strategy, score_public_services, score_infrastructure,
                          score_data, score_personnel, score_regulation]) as s
    ) as overall_score
from ranked
where recency = 1
