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
        count(*) filter (where responded) as agencies_responded
    from current_rows
    group by survey_year_be, agency_level
),

mart as (
    select survey_year_be, agency_level, agencies_targeted, agencies_responded
    from {{ ref('readiness_summary_by_year') }}
)

{{ compare_with_mart(
    'mart', 'recomputed',
    keys=['survey_year_be', 'agency_level'],
    figures=['agencies_targeted', 'agencies_responded'],
    nullable_keys=['agency_level']
) }}
