{# Schemas are named exactly as configured (raw, staging, intermediate, marts, reference). #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
