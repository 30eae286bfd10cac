-- Bill fiscal year x book: which books of each year's budget bill are in the warehouse, with their
-- lines loaded and rejected, so a bill with some books missing or damaged never reads as a cut.
-- One row per book (REF_DOC) ever received; its newest file (ledger order) speaks for it. A file
-- rejected whole names its book from its lines, or from its file name (2022-3-1.csv = 2022.3.1).
-- A file holding several books (unusual: V2 is one CSV per book) counts its rejected lines on its
-- first book.
with book_files as (
    select
        l.file_id,
        l.path,
        l.status,
        l.received_at,
        l.rows_in,
        l.rows_loaded,
        l.rows_rejected,
        trim(b.ref_doc) as ref_doc,
        b.book_no,
        count(*) over (partition by trim(b.ref_doc)) as files_received
    from {{ ref('stg_file_ledger') }} as l
    cross join lateral unnest(string_to_array(l.ref_doc, ',')) with ordinality as b(ref_doc, book_no)
    where l.source = 'budget_bill' and l.ref_doc is not null
),
newest as (
    {{ newest_file_only('book_files', 'ref_doc') }}
),
lines as (
    select
        ref_doc,
        file_id,
        count(*) as lines_loaded,
        count(*) filter (where not is_year_appropriation) as obligation_lines,
        coalesce(sum(amount_baht) filter (where is_year_appropriation), 0) as amount_baht,
        coalesce(sum(amount_baht) filter (where is_year_appropriation and budget_plan_code is not null), 0)
            as integration_plan_baht,
        count(*) filter (where not is_instalment_year_plausible) as implausible_instalment_lines
    from {{ ref('fct_budget_lines') }}
    where source = 'budget_bill'
    group by ref_doc, file_id
)
select
    nullif({{ book_fiscal_year('n.ref_doc') }}, 0)::integer as bill_fy_be,
    n.ref_doc::text as ref_doc,
    n.file_id::bigint as file_id,
    n.path::text as path,
    n.received_at::timestamptz as received_at,
    n.files_received::integer as files_received,
    (n.status = 'loaded')::boolean as is_loaded,
    {{ label_th('loaded', "n.status = 'loaded'") }}::text as is_loaded_th,
    coalesce(li.lines_loaded, 0)::integer as lines_loaded,
    (case when n.book_no = 1 then n.rows_rejected else 0 end)::integer as lines_rejected,
    coalesce(li.obligation_lines, 0)::integer as obligation_lines,
    coalesce(li.implausible_instalment_lines, 0)::integer as implausible_instalment_lines,
    coalesce(li.amount_baht, 0)::numeric(18, 2) as amount_baht,
    coalesce(li.integration_plan_baht, 0)::numeric(18, 2) as integration_plan_baht
from newest as n
left join lines as li on li.ref_doc = n.ref_doc and li.file_id = n.file_id
