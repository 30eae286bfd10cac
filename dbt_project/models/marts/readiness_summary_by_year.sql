-- Survey year x agency level: targeted, responded, response rate and mean overall score.
select
    survey_year_be::integer as survey_year_be,
    agency_level::text as agency_level,
    {{ label_th('agency_level', 'r.agency_level') }}::text as agency_level_name_th,
    {{ label_th('agency_level', 'r.agency_level', 'sort_order') }}::integer as agency_level_order,
    count(*)::integer as agencies_targeted,
    count(*) filter (where responded)::integer as agencies_responded,
    round(100.0 * count(*) filter (where responded) / count(*), 2)::numeric(5, 2) as response_rate_pct,
    round(avg(overall_score) filter (where responded), 2)::numeric(5, 2) as mean_overall_score
from {{ ref('fct_readiness_responses') }} as r
group by survey_year_be, agency_level
