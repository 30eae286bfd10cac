-- Current readiness rows (newest file per agency and survey year), with the overall score:
-- the mean of the pillar scores an agency has.
with current_rows as (
    {{ newest_file_rows('stg_readiness', 'coalesce(agency_id, agency_key), survey_year_be') }}
)
select
    *,
    (
        select round(avg(s), 2)
        from unnest(array[score_strategy, score_public_services, score_infrastructure,
                          score_data, score_personnel, score_regulation]) as s
    ) as overall_score
from current_rows
