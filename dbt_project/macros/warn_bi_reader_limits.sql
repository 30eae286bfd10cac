{#
  bi_reader's session limits (vars bi_statement_timeout, bi_idle_in_transaction_session_timeout) are role
  settings only the warehouse's administrator may change (ground/embedded_pg.py at each start,
  docker/warehouse/20-bi-reader-limits.sh): dbt's log says so when the role's settings differ from the vars.
#}
{% macro warn_bi_reader_limits() %}
  {% set found = run_query("select coalesce(array_to_string(s.setconfig, ','), '')
                            from pg_roles as r left join pg_db_role_setting as s
                              on s.setrole = r.oid and s.setdatabase = 0
                            where r.rolname = 'bi_reader'") %}
  {% if found.rows | length > 0 %}
    {% set have = (found.rows[0][0] or '').split(',') %}
    {% for name, value in [('statement_timeout', var('bi_statement_timeout')),
                           ('idle_in_transaction_session_timeout', var('bi_idle_in_transaction_session_timeout'))] %}
      {% if name ~ '=' ~ value not in have %}
        {% do log("bi_reader's " ~ name ~ " is not " ~ value ~ " (dbt_project.yml vars): a BI session may hold "
                  ~ "the night's table swaps; restart the embedded warehouse or run "
                  ~ "docker/warehouse/20-bi-reader-limits.sh as the warehouse's administrator", info=True) %}
      {% endif %}
    {% endfor %}
  {% endif %}
{% endmacro %}
