-- One row per current budget line of both sources: integration-plan projects (DGA's allocations)
-- and budget-bill line items, every plan (budget_plan_code is null for plans that are not
-- integration plans; the budget marts leave those out), with agency, amounts and file lineage.
-- Two years per line: budget-bill lines carry the bill's fiscal year (the book's, from REF_DOC:
-- bill_fy_be, also fiscal_year_be) and the instalment year the amount is scheduled for
-- (instalment_fy_be, the V2 FISCAL_YEAR). A multi-year obligation names instalments decades apart;
-- only the bill's own-year lines are its appropriation for that year (is_year_appropriation), the
-- others are its obligation schedule (budget_obligation_schedule) and never count in another
-- year's total. Integration-plan lines: both years are the plan's fiscal year.
-- Incremental by partition (see macros/fact_partitions.sql and macros/partitioned_fact_config.sql;
-- vars fy_from/fy_to):
--   integration_plan: fiscal year x agency (newest file per agency and year wins);
--   budget_bill: the book's fiscal year x book (REF_DOC; newest file per book wins), so a
--   resubmitted book replaces every line of the old version whatever years its lines carry.
{{ config(**partitioned_fact_config('partition_fy_be', ['agency_match_changed', 'budget_plan_changed'])) }}

with plan_staged as (
    select
        s.*,
        k.agency_id,
        l.received_at,
        s.fiscal_year_be as partition_fy_be,
        'integration_plan|' || coalesce(k.agency_id, 'name:' || s.agency_key) as partition_key
    from {{ ref('stg_integration_plan') }} as s
    join {{ ref('stg_file_ledger') }} as l on l.file_id = s.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = s.agency_key
),
plan_rows as (
    {{ newest_file_only('plan_staged', 'partition_fy_be, partition_key') }}
),
-- Budget books: which file is each book's newest, and which books this run (re)builds. Decided
-- per book on (book, file) pairs, so only the lines of those books are read below.
book_files as (
    select distinct
        {{ book_fiscal_year('b.ref_doc') }} as partition_fy_be,
        'budget_bill|' || b.ref_doc as partition_key,
        b.file_id,
        l.received_at
    from {{ ref('stg_budget_bill') }} as b
    join {{ ref('stg_file_ledger') }} as l on l.file_id = b.file_id
),
books_to_build as (
    select f.partition_fy_be, f.partition_key, f.file_id
    from ({{ newest_file_only('book_files', 'partition_fy_be, partition_key') }}) as f
    where {{ needs_build('f', 'partition_fy_be') }}
),
bill_lines as (
    select
        'budget_bill' as source,
        p.partition_fy_be,
        p.partition_key,
        p.partition_fy_be as fiscal_year_be,
        p.partition_fy_be as bill_fy_be,
        b.fiscal_year_be as instalment_fy_be,
        b.item_id as line_key,
        b.budget_plan_name,
        b.budget_plan_key,
        k.agency_id,
        b.agency_key,
        b.agency_name,
        b.ministry_name,
        coalesce(b.project_name, b.output_name, b.item_description) as project_key,
        null::text as project_code,
        coalesce(b.project_name, b.output_name) as project_name,
        null::text as approach_code,
        null::text as focus_area_code,
        null::numeric as requested_baht,
        b.amount_baht,
        b.amount_baht is null as is_amount_unparsed,
        coalesce(b.has_extraction_warning, false) as has_extraction_warning,
        b.is_obliged,
        b.item_id,
        b.ref_doc,
        b.file_id,
        b.source_sheet,
        b.source_row,
        l.received_at
    from {{ ref('stg_budget_bill') }} as b
    join books_to_build as p on p.file_id = b.file_id and p.partition_key = 'budget_bill|' || b.ref_doc
    join {{ ref('stg_file_ledger') }} as l on l.file_id = b.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = b.agency_key
),
plan_lines as (
    select
        'integration_plan' as source,
        r.partition_fy_be,
        r.partition_key,
        r.fiscal_year_be,
        null::integer as bill_fy_be,
        r.fiscal_year_be as instalment_fy_be,
        r.fiscal_year_be || ':' || r.project_code as line_key,
        r.budget_plan_name,
        r.budget_plan_key,
        r.agency_id,
        r.agency_key,
        r.agency_name,
        null::text as ministry_name,
        r.project_code as project_key,
        r.project_code,
        r.project_name_th as project_name,
        r.approach as approach_code,
        r.focus_area as focus_area_code,
        r.requested_baht,
        r.allocated_baht as amount_baht,
        false as is_amount_unparsed,
        false as has_extraction_warning,
        null::boolean as is_obliged,
        null::text as item_id,
        null::text as ref_doc,
        r.file_id,
        r.source_sheet,
        r.source_row,
        r.received_at
    from plan_rows as r
    where {{ needs_build('r', 'partition_fy_be') }}
),
lines as (
    select * from bill_lines
    union all
    select * from plan_lines
)
select
    source::text as source,
    partition_fy_be::integer as partition_fy_be,
    partition_key::text as partition_key,
    nullif(fiscal_year_be, 0)::integer as fiscal_year_be,
    nullif(bill_fy_be, 0)::integer as bill_fy_be,
    instalment_fy_be::integer as instalment_fy_be,
    (source = 'integration_plan' or instalment_fy_be = bill_fy_be)::boolean as is_year_appropriation,
    (instalment_fy_be between {{ var('fy_min_be') }} and {{ var('fy_max_be') }})::boolean
        as is_instalment_year_plausible,
    line_key::text as line_key,
    budget_plan_name::text as budget_plan_name,
    budget_plan_key::text as budget_plan_key,
    {{ budget_plan_code('l.budget_plan_key') }}::text as budget_plan_code,
    agency_id::text as agency_id,
    agency_key::text as agency_key,
    agency_name::text as agency_name,
    ministry_name::text as ministry_name,
    project_key::text as project_key,
    project_code::text as project_code,
    project_name::text as project_name,
    approach_code::text as approach_code,
    focus_area_code::text as focus_area_code,
    requested_baht::numeric(18, 2) as requested_baht,
    amount_baht::numeric(18, 2) as amount_baht,
    is_amount_unparsed::boolean as is_amount_unparsed,
    has_extraction_warning::boolean as has_extraction_warning,
    is_obliged::boolean as is_obliged,
    item_id::text as item_id,
    ref_doc::text as ref_doc,
    file_id::bigint as file_id,
    source_sheet::text as source_sheet,
    source_row::integer as source_row,
    received_at::timestamptz as received_at,
    {{ build_columns() }}
from lines as l
