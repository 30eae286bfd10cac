{#
  bi_reader reads schema marts and nothing else. Run at the end of every dbt run, so rebuilt
  tables are readable again; default privileges cover tables created later.
#}
{% macro grant_bi_reader() %}
  {% if execute %}
    {% do warn_bi_reader_limits() %}
    {# Airflow builds one model per dbt invocation: early ones run before schema marts exists. #}
    {% set exists = run_query("select 1 from pg_roles where rolname = 'bi_reader'
                               and exists (select 1 from pg_namespace where nspname = 'marts')") %}
    {% if exists.rows | length > 0 %}
      grant usage on schema marts to bi_reader;
      grant select on all tables in schema marts to bi_reader;
      alter default privileges in schema marts grant select on tables to bi_reader;
    {% endif %}
  {% endif %}
{% endmacro %}
