{# on-run-end: one row per node dbt ran, so the nightly summary can count models and tests across the
   many per-model invocations Airflow makes. DGWH_RUN_ID is the Airflow run id (set by the DAG). The table is
   an ops migration (ground/schema.py), applied before any dbt command runs. #}
{% macro record_dbt_results(results) %}
  {% if execute %}
    {% set run_id = env_var('DGWH_RUN_ID', 'manual') %}
    {% if results | length > 0 %}
    insert into ops.dbt_results
      (invocation_id, run_id, unique_id, resource_type, status, failures, execution_time_s, message)
    values
    {%- for r in results %}
      ({{ dbt.string_literal(invocation_id) }}, {{ dbt.string_literal(run_id | replace("'", "''")) }},
       {{ dbt.string_literal(r.node.unique_id | replace("'", "''")) }}, {{ dbt.string_literal(r.node.resource_type) }},
       {{ dbt.string_literal(r.status) }}, {{ r.failures if r.failures is not none else 'null' }},
       {{ r.execution_time or 0 }}, {{ dbt.string_literal((r.message or '') | string | replace("'", "''")) }})
      {{- "," if not loop.last }}
    {%- endfor %};
    {% endif %}
  {% endif %}
{% endmacro %}
