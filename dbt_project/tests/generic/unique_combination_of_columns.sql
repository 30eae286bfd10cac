{#-
  Data test: no two rows share the same combination of `combination_of_columns` (a list of columns
  or SQL expressions over the model's columns), like dbt_utils.unique_combination_of_columns: the
  rows are grouped by the combination and every group of more than one row is a failure.

  A row with a NULL in any element is not tested, as in a unique constraint over these columns (and
  as with the concatenated-key `unique` tests this replaced, where a NULL part made the key NULL).
  Where a NULL should count as a value, say so with an expression, e.g. coalesce(approach_code, '-').
  A key that is "one column, else another" is one element, coalesce(agency_id, agency_name_th):
  the two elements agency_id, agency_name_th would be a different (finer) key.

      data_tests:
        - unique_combination_of_columns:
            arguments:
              combination_of_columns:
                - file_id
                - coalesce(source_sheet, '')
                - source_row
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- if combination_of_columns is string or not combination_of_columns -%}
        {{ exceptions.raise_compiler_error(
            "unique_combination_of_columns: combination_of_columns must be a non-empty list, got "
            ~ combination_of_columns) }}
    {%- endif -%}
    {#- In the failing rows a plain column keeps its name; an expression is key_<n>. -#}
    {%- set keys = [] -%}
    {%- set not_null = [] -%}
    {%- for element in combination_of_columns -%}
        {%- if modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', element | string) -%}
            {%- do keys.append(element ~ ' as ' ~ element) -%}
        {%- else -%}
            {%- do keys.append(element ~ ' as key_' ~ loop.index) -%}
        {%- endif -%}
        {%- do not_null.append('(' ~ element ~ ') is not null') -%}
    {%- endfor %}

select
    {{ keys | join(',\n    ') }},
    count(*) as n_records
from {{ model }}
where {{ not_null | join('\n  and ') }}
group by {{ range(1, keys | length + 1) | join(', ') }}
having count(*) > 1
{% endtest %}
