{{ config(tags=['reconcile'], store_failures=true, schema='reconcile', alias='readiness_summary_by_year') }}
-- Reconcile (nightly.reconcile, check reconcile.readiness_summary_by_year): readiness_summary_by_year
-- against an independent aggregate over staging, not through fct_readiness_responses (the incremental fact
-- the mart is built from). Current rows: the newest file per agency and survey year (newest_file_rows);
-- agencies targeted (every current row) and responded per survey year and agency level.
-- One row per mismatch, keyed by survey_year_be and agency_level, with the mart's and the recomputed
-- figures side by side.
with current_rows as (
    {{ newest_file_rows('stg_readiness', "survey_year_be, coalesce(agency_id, 'name:' || agency_key)") }}
),

recomputed as (
    select
        survey_year_be,
        agency_level,
        count(*) as agencies_targeted,
        count(*) filter (where responded) as agencies_responded,
        true as in_raw
    from current_rows
    group by survey_year_be, agency_level
),

mart as (
    select survey_year_be, agency_level, agencies_targeted, agencies_responded, true as in_mart
    from {{ ref('readiness_summary_by_year') }}
),

compared as (
    select
        coalesce(m.survey_year_be, r.survey_year_be) as survey_year_be,
        coalesce(m.agency_level, r.agency_level) as agency_level,
        coalesce(m.in_mart, false) as in_mart,
        coalesce(r.in_raw, false) as in_raw,
        m.agencies_targeted as mart_agencies_targeted,
        r.agencies_targeted as raw_agencies_targeted,
        m.agencies_responded as mart_agencies_responded,
        r.agencies_responded as raw_agencies_responded
    from mart as m
    full outer join recomputed as r
        -- a row without an agency level is a level of its own, as the mart groups it
        on r.survey_year_be = m.survey_year_be and coalesce(r.agency_level, '') = coalesce(m.agency_level, '')
)

select
    survey_year_be,
    agency_level,
    case
        when not in_raw then 'row only in the mart'
        when not in_mart then 'row missing from the mart'
        else 'figures differ'
    end as problem,
    mart_agencies_targeted,
    raw_agencies_targeted,
    mart_agencies_responded,
    raw_agencies_responded
from compared
where not (in_mart and in_raw)
    or mart_agencies_targeted is distinct from raw_agencies_targeted
    or mart_agencies_responded is distinct from raw_agencies_responded
