-- Survey year x agency level x readiness dimension (pillar): responding agencies with a score on
-- the dimension, and their mean, lowest and highest score. Rebuilt by year on a file-only night
-- (macros/night_years.sql).
{{ config(**night_years_mart_config('readiness_by_dimension_year')) }}

with scores as (
    select r.survey_year_be, r.agency_level, d.dimension_code, d.score
    from {{ ref('fct_readiness_responses') }} as r
    cross join lateral (
        values
            ('strategy', r.score_strategy),
            ('public_services', r.score_public_services),
            ('infrastructure', r.score_infrastructure),
            ('data', r.score_data),
            ('personnel', r.score_personnel),
            ('regulation', r.score_regulation)
    ) as d(dimension_code, score)
    where r.responded
    {%- if is_incremental() %}
        and {{ night_years_where('readiness_by_dimension_year', 'r') }}
    {%- endif %}
)
select
    s.survey_year_be::integer as survey_year_be,
    s.agency_level::text as agency_level,
    {{ label_th('agency_level', 's.agency_level') }}::text as agency_level_name_th,
    s.dimension_code::text as dimension_code,
    min(dim.dimension_name_th)::text as dimension_name_th,
    min(dim.dimension_name_en)::text as dimension_name_en,
    count(s.score)::integer as respondents,
    round(avg(s.score), 2)::numeric(5, 2) as mean_score,
    min(s.score)::numeric(5, 2) as min_score,
    max(s.score)::numeric(5, 2) as max_score
from scores as s
left join {{ ref('readiness_dimensions') }} as dim on dim.dimension_code = s.dimension_code
group by s.survey_year_be, s.agency_level, s.dimension_code
