{#
  Supersession, "the newest file wins": within each scope (an agency + year, a budget book, ...) only
  the rows of the scope's newest file count; older files' rows in the scope drop out here (they stay
  in raw and the ledger). This file is the one place the rule is written; every model applies it
  through newest_file_only() or newest_file_rows():

    newest_first()                          the order: latest received_at (stg_file_ledger's, which
                                            decides supersession), then the highest file_id on a tie;
    newest_file_only(relation, scope)       the rows of `relation` (a CTE or relation with file_id and
                                            received_at) that come from the newest file of their scope
                                            (`scope`: the partition-by columns), plus a column recency (1);
    newest_file_rows(staging_model, scope)  a staging model's rows with agency_id (registry) and
                                            received_at (ledger), newest file only.
#}
{% macro newest_first() -%}
    received_at desc, file_id desc
{%- endmacro %}

{% macro newest_file_only(relation, scope) -%}
select *
from (
    select
        *,
        dense_rank() over (partition by {{ scope }} order by {{ newest_first() }}) as recency
    from {{ relation }}
) as ranked
where recency = 1
{%- endmacro %}

{% macro newest_file_rows(staging_model, scope) -%}
with rows as (
    select s.*, k.agency_id, l.received_at
    from {{ ref(staging_model) }} as s
    join {{ ref('stg_file_ledger') }} as l on l.file_id = s.file_id
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = s.agency_key
)
{{ newest_file_only('rows', scope) }}
{%- endmacro %}
