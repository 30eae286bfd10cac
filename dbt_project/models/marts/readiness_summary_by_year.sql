-- Survey year x agency level: targeted, responded, response rate and mean overall score. special_local
-- (Bangkok and Pattaya) is a level of two units, kept as a row of its own (the published 2563 figures
-- name it) and flagged is_small_level, with its n in its label, so charts can show it apart.
select
    survey_year_be::integer as survey_year_be,
    agency_level::text as agency_level,
    {{ label_th('agency_level', 'r.agency_level') }}::text as agency_level_name_th,
    {{ label_th('agency_level', 'r.agency_level', 'sort_order') }}::integer as agency_level_order,
    count(*)::integer as agencies_targeted,
    count(*) filter (where responded)::integer as agencies_responded,
    round(100.0 * count(*) filter (where responded) / count(*), 2)::numeric(5, 2) as response_rate_pct,
    round(avg(overall_score) filter (where responded), 2)::numeric(5, 2) as mean_overall_score,
    -- the level's label with its n, so a chart of rates shows how few units a small level has
    ({{ label_th('agency_level', 'r.agency_level') }} || ' · ' || to_char(count(*), 'FM999,999,990')
        || ' หน่วย')::text as agency_level_label_n_th,
    (count(*) < {{ var('readiness_small_level_below') }})::boolean as is_small_level
from {{ ref('fct_readiness_responses') }} as r
group by survey_year_be, agency_level
