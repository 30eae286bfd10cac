{#
  Pre-hook of every model: its statements wait for a lock at most var('ddl_lock_timeout'). A BI session
  reading a mart holds a shared lock on it, and the table swap's rename needs an exclusive one; without a
  limit the rename waits for as long as the BI session stays, and every later BI query queues behind it.
  A model that times out fails and is built again (nightly.transform, Airflow's task retries).
#}
{% macro ddl_lock_timeout() %}
  set lock_timeout = {{ dbt.string_literal(var('ddl_lock_timeout')) }}
{% endmacro %}
