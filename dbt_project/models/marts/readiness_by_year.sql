-- Survey year x agency (responding agencies): scores, maturity band, rank and change.
-- Rebuilt by year on a file-only night (macros/night_years.sql): from the earliest year the night's files
-- hold, since the change on the year before looks back.
{{ config(**night_years_mart_config('readiness_by_year')) }}
{%- set years = night_years('readiness_by_year') if is_incremental() else none %}

with responses as (
    select
        r.survey_year_be, r.agency_id, r.agency_name, r.agency_level, r.province_name, r.partition_key,
        r.overall_score, r.score_strategy, r.score_public_services, r.score_infrastructure, r.score_data,
        r.score_personnel, r.score_regulation
    from {{ ref('fct_readiness_responses') }} as r
    where r.responded
    {%- if years %}
        and r.survey_year_be >= {{ years[0] }}
    union all
    -- each agency's latest answer before those years: the change on the year before of its first row looks
    -- back at it (its own rows are filtered out below)
    select earlier.*
    from (
        select distinct on (r.partition_key)
            r.survey_year_be, r.agency_id, r.agency_name, r.agency_level, r.province_name, r.partition_key,
            r.overall_score, r.score_strategy, r.score_public_services, r.score_infrastructure, r.score_data,
            r.score_personnel, r.score_regulation
        from {{ ref('fct_readiness_responses') }} as r
        where r.responded and r.survey_year_be < {{ years[0] }}
        order by r.partition_key asc, r.survey_year_be desc
    ) as earlier
    {%- endif %}
),
scored as (
    select
        r.survey_year_be,
        r.agency_id,
        coalesce(a.agency_name_th, r.agency_name) as agency_name_th,
        r.agency_level,
        coalesce(nullif(a.province_name_th, ''), r.province_name) as province_name_th,
        a.ministry_name_th,
        r.partition_key,
        r.overall_score,
        r.score_strategy,
        r.score_public_services,
        r.score_infrastructure,
        r.score_data,
        r.score_personnel,
        r.score_regulation
    from responses as r
    left join {{ ref('agencies') }} as a on a.agency_id = r.agency_id
),
ranked as (
select
    s.survey_year_be::integer as survey_year_be,
    s.agency_id::text as agency_id,
    s.agency_name_th::text as agency_name_th,
    s.agency_level::text as agency_level,
    {{ label_th('agency_level', 's.agency_level') }}::text as agency_level_name_th,
    s.ministry_name_th::text as ministry_name_th,
    s.province_name_th::text as province_name_th,
    p.province_iso_code::text as province_iso_code,
    s.overall_score::numeric(5, 2) as overall_score,
    s.score_strategy::numeric(5, 2) as score_strategy,
    s.score_public_services::numeric(5, 2) as score_public_services,
    s.score_infrastructure::numeric(5, 2) as score_infrastructure,
    s.score_data::numeric(5, 2) as score_data,
    s.score_personnel::numeric(5, 2) as score_personnel,
    s.score_regulation::numeric(5, 2) as score_regulation,
    b.readiness_band::text as readiness_band,
    b.band_no::integer as readiness_band_no,
    b.band_name_th::text as readiness_band_name_th,
    (b.band_no || ' ' || b.readiness_band)::text as readiness_band_label_en,
    rank() over (partition by s.survey_year_be, s.agency_level order by s.overall_score desc)::integer
        as rank_in_level,
    (s.overall_score - lag(s.overall_score) over (
        partition by s.partition_key order by s.survey_year_be))::numeric(6, 2) as score_change
from scored as s
left join {{ ref('readiness_bands') }} as b
    on s.overall_score >= b.min_score and s.overall_score < b.max_score
left join {{ ref('provinces') }} as p on p.province_name_th = s.province_name_th
)
select *
from ranked
{%- if is_incremental() %}
where {{ night_years_where('readiness_by_year') }}
{%- endif %}
