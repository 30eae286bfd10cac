{#
  The fiscal year (BE) of a budget book from its REF_DOC, "<fiscal year>.<issue>.<book>" with a CE
  year in the V2 extraction (2022.3.1 = FY 2565); a BE year is taken as is. 0 when REF_DOC does not
  start with a plausible year (a warn-level test on fct_budget_lines reports it). It is the book's
  partition year: the same for every version of a book, whatever years its lines carry.
#}
{% macro book_fiscal_year(ref_doc) -%}
(
    select case
        when y between {{ var('year_min_be') }} and {{ var('year_max_be') }} then y
        when y between {{ var('year_min_be') - 543 }} and {{ var('year_max_be') - 543 }} then y + 543
        else 0
    end
    from (select substring({{ ref_doc }} from '^\s*(\d{4})')::integer as y) as parsed
)
{%- endmacro %}
