{#
  Supersession: the rows of the newest file within each scope, such as agency + year. "Newest" is
  newest_first(): latest received_at, then highest file_id. Older files' rows in the same scope
  drop out here; they stay in raw and the ledger. Every row gets agency_id from the registry and
  received_at from the ledger.
#}
{% macro newest_first() -%}
    received_at desc, file_id desc
{%- endmacro %}

{% macro newest_file_rows(staging_model, scope) -%}
with rows as (
    select s.*, k.agency_id, l.received_at
    from {{ ref(staging_model) }} as s
    join {{ ref('stg_file_ledger') }} as l on l.file_id = s.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = s.agency_key
),
ranked as (
    select
        *,
        dense_rank() over (partition by {{ scope }} order by {{ newest_first() }}) as recency
    from rows
)
select * from ranked where recency = 1
{%- endmacro %}
