{#-
  The config of an incremental fact rebuilt partition by partition (see macros/fact_partitions.sql),
  so the partitioning policy lives in one place. Use as

      {{ config(**partitioned_fact_config('partition_fy_be', ['agency_match_changed', ...])) }}

  fy_column: the fact's partition-year column; a partition is (fy_column, partition_key).
  stale_checks: names of macros taking a fact-row alias ('d') and returning a condition that marks
    the row's partition stale (the registry changed); the pre-hook deletes the partitions where any
    holds, then the model rebuilds them.

  The hooks are returned as unrendered strings: dbt renders them when the model runs (this,
  is_incremental() and vars fy_from/fy_to are only known then).
-#}
{% macro partitioned_fact_config(fy_column, stale_checks) %}
    {%- if not stale_checks -%}
        {{ exceptions.raise_compiler_error("partitioned_fact_config: stale_checks needs at least one macro name") }}
    {%- endif -%}
    {%- set checks = [] -%}
    {%- for check in stale_checks -%}
        {%- do checks.append(check ~ "('d')") -%}
    {%- endfor -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': [fy_column, 'partition_key'],
        'on_schema_change': 'fail',
        'pre_hook': "{{ rebuild_partitions_hook('" ~ fy_column ~ "', " ~ checks | join(" ~ ' or ' ~ ") ~ ") }}",
        'post_hook': "{{ analyze_this() }}",
        'indexes': [{'columns': [fy_column, 'partition_key', 'file_id']}],
    }) }}
{% endmacro %}
