{#- Stored budget_plan_code no longer what budget_plans says for the stored plan-name key. -#}
{% macro budget_plan_changed(alias) -%}
{{ alias }}.budget_plan_key in (
    select h.budget_plan_key
    from (select distinct budget_plan_key, budget_plan_code from {{ this }}) as h
    where h.budget_plan_code is distinct from {{ budget_plan_code('h.budget_plan_key') }}
)
{%- endmacro %}
