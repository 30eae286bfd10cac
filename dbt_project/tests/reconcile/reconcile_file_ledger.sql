{{ config(tags=['reconcile'], store_failures=true, schema='reconcile', alias='file_ledger') }}
-- Reconcile (nightly.reconcile, check reconcile.file_ledger): the file ledger against raw. One row per
-- mismatch: a ledger row whose file has other than rows_loaded rows in raw (0 unless status = 'loaded'), a
-- ledger row whose rows_in is not rows_loaded + rows_rejected, raw rows of a file the ledger does not have.
-- Counted from ops.file_ledger itself (withdrawn files included: their rows stay in raw) and every raw
-- source the project declares (models/staging/stg_<source>.yml), read from dbt's graph when the test runs:
-- a new source is counted with no edit here.
with raw_rows as (
{#- dbt's graph is filled when the test runs (not at parse time, nor for SQLFluff, hence the guard). -#}
{%- set raw_tables = [] -%}
{%- if execute and graph is mapping -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
        {%- do raw_tables.append(node.name) -%}
    {%- endfor -%}
{%- endif -%}
{%- for table in raw_tables | sort %}
    select file_id, count(*) as rows_in_raw from {{ source('raw', table) }} group by file_id
    {% if not loop.last %}union all{% endif %}
{%- else %}
    select null::bigint as file_id, 0::bigint as rows_in_raw
{%- endfor %}
),

in_raw as (
    select file_id, sum(rows_in_raw)::bigint as rows_in_raw
    from raw_rows
    where file_id is not null
    group by file_id
),

ledger as (
    select
        file_id,
        path,
        status,
        rows_in,
        rows_loaded,
        rows_rejected,
        case when status = 'loaded' then rows_loaded else 0 end as rows_expected_in_raw
    from {{ source('ops', 'file_ledger') }}
),

compared as (
    select
        coalesce(l.file_id, r.file_id) as file_id,
        l.path,
        l.status,
        l.rows_in,
        l.rows_loaded,
        l.rows_rejected,
        l.rows_expected_in_raw,
        coalesce(r.rows_in_raw, 0) as rows_in_raw,
        l.file_id is not null as in_ledger
    from ledger as l
    full outer join in_raw as r on r.file_id = l.file_id
)

select
    file_id,
    path,
    case
        when not in_ledger then 'raw rows without a ledger row'
        when rows_in_raw <> rows_expected_in_raw then 'rows in raw differ from the ledger'  -- both known here
        else 'rows_in is not rows_loaded + rows_rejected'
    end as problem,
    status,
    rows_in,
    rows_loaded,
    rows_rejected,
    rows_expected_in_raw,
    rows_in_raw
from compared
where not in_ledger
    or rows_in_raw is distinct from rows_expected_in_raw
    or rows_in is distinct from rows_loaded + rows_rejected
