{#
  A night whose only news is files changes only the fiscal years those files hold. The nightly decision
  records them by source in ops.dbt_night_scope under the run id (nightly.transform.record_night_scope);
  any other build (a whole-project or full build, a backfill, dbt run by hand) has no row there, and then
  everything is rebuilt and tested.

  night_scoped() is the one list of the relations a night handles by year: their year column, the sources
  whose files change them (reaching) and those of them whose files change only the years they hold
  (bounded: a budget book reissued without a year changes that year too, so budget sources are not). A
  night with a file of a reaching source that is not bounded handles the whole relation.
    - the marts listed with onward=false/true are rebuilt by year (night_years_mart_config); onward: every
      year from the earliest changed one (rows that look back at earlier years, e.g. the change on the
      year before);
    - every listed relation's own data tests run on those years only (get_where_subquery); the full tests
      run on every other build. A relation listed with by_file=true (a view over raw rows, which a night only
      adds to) is tested on the rows of the night's files (night_files) instead.
#}
{% macro night_scoped() %}
    {%- set readiness = {'column': 'survey_year_be', 'reaching': ['readiness'], 'bounded': ['readiness']} -%}
    {{ return({
        'stg_readiness': dict(readiness, by_file=true),
        'fct_readiness_responses': readiness,
        'readiness_by_year': dict(readiness, onward=true),
        'readiness_by_dimension_year': readiness,
        'readiness_summary_by_year': readiness,
        'submission_coverage': {'column': 'fiscal_year_be', 'reaching': ['readiness', 'project_reports'],
                                'bounded': ['readiness', 'project_reports']},
        'agency_scorecard': {'column': 'fiscal_year_be',
                             'reaching': ['readiness', 'project_reports', 'integration_plan', 'budget_bill'],
                             'bounded': ['readiness']},
    }) }}
{% endmacro %}

{#- The run's row of ops.dbt_night_scope as text (years_by_source, then whether file_ids is set), or none: not a
    file-only night. -#}
{% macro night_scope_row() %}
    {#- env_var only when executing: read while parsing, it would make dbt parse the models again each run -#}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set run_id = env_var('DGWH_RUN_ID', '') -%}
    {%- if not run_id -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set scope_table = adapter.get_relation(database=target.database, schema='ops',
                                               identifier='dbt_night_scope') -%}
    {%- if scope_table is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query("select years_by_source::text, (file_ids is not null)::text from " ~ scope_table
                              ~ " where run_id = " ~ dbt.string_literal(run_id | replace("'", "''"))) -%}
    {{ return(found.rows[0] if found.rows | length > 0 else none) }}
{% endmacro %}

{#- The years a file-only night changes in relation `name` (night_scoped), or none for everything. -#}
{% macro night_years(name) %}
    {%- set scoped = night_scoped().get(name) -%}
    {%- set row = night_scope_row() if scoped is not none else none -%}
    {%- if row is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set years = [] -%}
    {%- for source, source_years in fromjson(row[0]).items() if source in scoped.reaching -%}
        {%- if source not in scoped.bounded -%}
            {{ return(none) }}
        {%- endif -%}
        {%- for year in source_years if (year | int) not in years -%}
            {%- do years.append(year | int) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(years | sort) }}
{% endmacro %}

{#- An array expression (a scalar subquery, cast so that any() reads it as an array, not as a set) of the ledger
    entries of a file-only night's files, or none on any other build; as file_id = any(...) PostgreSQL reads the
    rows through an index, before any other condition on them.
    The build before the night left every model right for every earlier file (a file-only night follows a
    successful build of the same project), so only partitions these files hold can change. -#}
{% macro night_files() %}
    {%- set row = night_scope_row() -%}
    {%- if row is none or row[1] != 'true' -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("(select file_ids from ops.dbt_night_scope where run_id = "
              ~ dbt.string_literal(env_var('DGWH_RUN_ID') | replace("'", "''")) ~ ")::bigint[]") }}
{% endmacro %}

{#- A condition on `column` for `years` (night_years): true (none: everything), false (no year changed), the
    years, or with onward every year from the earliest of them. -#}
{% macro years_condition(column, years, onward=false) -%}
    {%- if years is none -%}
        true
    {%- elif years | length == 0 -%}
        false
    {%- elif onward -%}
        {{ column }} >= {{ years[0] }}
    {%- else -%}
        {{ column }} in ({{ years | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#- The condition on relation `name`'s year column (unqualified, or qualified with `alias`). -#}
{% macro night_years_where(name, alias=none) -%}
    {%- set scoped = night_scoped()[name] -%}
    {%- set column = (alias ~ '.' if alias else '') ~ scoped.column -%}
    {{ years_condition(column, night_years(name), scoped.get('onward', false)) }}
{%- endmacro %}

{#-
  The config of a mart rebuilt by year on a file-only night: a pre-hook (in the model's transaction) deletes
  the years night_years gives and the model appends its rows for them (it filters them with
  night_years_where); any other incremental build deletes and appends every year; a full refresh or the
  first build makes the table. Columns added since are appended (contracted models allow only that or fail).
-#}
{% macro night_years_mart_config(name) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'append_new_columns',
        'pre_hook': "{{ delete_night_years('" ~ name ~ "') }}",
    }) }}
{% endmacro %}

{% macro delete_night_years(name) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ night_years_where(name) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- A data test on a night_scoped relation runs on the night's years only (dbt's own where config still
    applies on top). -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where', '') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set scoped = night_scoped().get(relation.identifier) -%}
    {%- set files = night_files() if scoped is not none and scoped.get('by_file', false) else none -%}
    {%- if files is not none -%}
        {%- do conditions.append('file_id = any(' ~ files ~ ')') -%}
    {%- elif scoped is not none -%}
        {%- set night = night_years_where(relation.identifier) | trim -%}
        {%- if night != 'true' -%}
            {%- do conditions.append(night) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
