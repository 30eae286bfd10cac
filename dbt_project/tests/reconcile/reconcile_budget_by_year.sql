{{ config(tags=['reconcile'], store_failures=true, schema='reconcile', alias='budget_by_year') }}
-- Reconcile (nightly.reconcile, check reconcile.budget_by_year): budget_by_year against an independent
-- aggregate over staging, not through fct_budget_lines (the incremental fact the mart is built from).
-- Current lines: the newest file per agency and fiscal year (integration plan) or per book (budget bill,
-- REF_DOC), by newest_file_rows; a bill counts only its own year's lines (book_fiscal_year), its other
-- instalments are its schedule. Integration plans only (budget_plan_code), amounts as staging casts them
-- (2 decimals per row), agencies counted as coalesce(agency_id, 'name:' || agency_key).
-- One row per mismatch, keyed by fiscal_year_be, budget_plan_code and source, with the mart's and the
-- recomputed figures side by side.
with plan_rows as (
    {{ newest_file_rows('stg_integration_plan', "fiscal_year_be, coalesce(agency_id, 'name:' || agency_key)") }}
),

bill_rows as (
    {{ newest_file_rows('stg_budget_bill', 'ref_doc') }}
),

lines as (
    select
        'integration_plan' as source,
        fiscal_year_be,
        budget_plan_key,
        agency_id,
        agency_key,
        allocated_baht as amount_baht
    from plan_rows
    union all
    select
        'budget_bill' as source,
        fiscal_year_be,
        budget_plan_key,
        agency_id,
        agency_key,
        amount_baht
    from bill_rows
    where fiscal_year_be = nullif({{ book_fiscal_year('ref_doc') }}, 0)
),

plan_codes as (
    select
        named.budget_plan_key,
        {{ budget_plan_code('named.budget_plan_key') }} as budget_plan_code
    from (select distinct budget_plan_key from lines) as named
),

recomputed as (
    select
        l.fiscal_year_be,
        c.budget_plan_code,
        l.source,
        coalesce(sum(l.amount_baht), 0)::numeric(18, 2) as amount_baht,
        count(*) as line_items,
        count(distinct coalesce(l.agency_id, 'name:' || l.agency_key)) as agencies
    from lines as l
    join plan_codes as c on c.budget_plan_key = l.budget_plan_key
    where l.fiscal_year_be is not null and c.budget_plan_code is not null
    group by l.fiscal_year_be, c.budget_plan_code, l.source
),

mart as (
    select fiscal_year_be, budget_plan_code, source, amount_baht, line_items, agencies
    from {{ ref('budget_by_year') }}
)

{{ compare_with_mart(
    'mart', 'recomputed',
    keys=['fiscal_year_be', 'budget_plan_code', 'source'],
    figures=['amount_baht', 'line_items', 'agencies']
) }}
