{#
  Supersession: 1 for rows of the newest file (received_at, then file_id) within a scope such as
  agency + year. Rows of older files in the same scope rank lower and drop out downstream; they
  stay in raw and in the ledger.
#}
{% macro newest_file_rank(scope) -%}
    dense_rank() over (partition by {{ scope }} order by received_at desc, file_id desc)
{%- endmacro %}
