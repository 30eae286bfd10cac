{#
  The reconcile tests' comparison (tests/reconcile/): a mart against its independent recomputation,
  full outer joined on the mart's key (PostgreSQL full-joins on equality only: a text key that may be null
  goes in nullable_keys and is matched as coalesce(key, ''), a null being a value of its own, as the mart
  groups it). One row per mismatch: the key, a problem ('row only in the mart', 'row missing from the
  mart', 'figures differ') and each figure as mart_<figure> and raw_<figure>.
    mart, recomputed   CTE names holding the key columns and the figures
    keys, figures      lists of column names; nullable_keys: those of keys that may be null (text)
#}
{% macro compare_with_mart(mart, recomputed, keys, figures, nullable_keys=[]) -%}
select
    {%- for k in keys %}
    coalesce(m.{{ k }}, r.{{ k }}) as {{ k }},
    {%- endfor %}
    case
        when not coalesce(r.in_raw, false) then 'row only in the mart'
        when not coalesce(m.in_mart, false) then 'row missing from the mart'
        else 'figures differ'
    end as problem
    {%- for f in figures %},
    m.{{ f }} as mart_{{ f }},
    r.{{ f }} as raw_{{ f }}
    {%- endfor %}
from (select *, true as in_mart from {{ mart }}) as m
full outer join (select *, true as in_raw from {{ recomputed }}) as r
    on
    {%- for k in keys %}{% if not loop.first %} and{% endif %}
    {%- if k in nullable_keys %} coalesce(r.{{ k }}, '') = coalesce(m.{{ k }}, '')
    {%- else %} r.{{ k }} = m.{{ k }}{% endif %}
    {%- endfor %}
where m.in_mart is null or r.in_raw is null
    {%- for f in figures %}
    or m.{{ f }} is distinct from r.{{ f }}
    {%- endfor %}
{%- endmacro %}
