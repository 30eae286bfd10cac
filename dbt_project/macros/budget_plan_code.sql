{#
  The budget plan code of a plan-name key: the longest registered plan-name key that prefixes it,
  so OCR garbage after a name still matches ("แผนงานบูรณาการรัฐบาลดิจิทัลaedde") and the generic
  "แผนงานบูรณาการ" entry catches integration plans not yet registered. Null for other plans.
#}
{% macro budget_plan_code(key_expr) -%}
(
    select k.budget_plan_code
    from {{ ref('int_budget_plan_keys') }} as k
    where starts_with({{ key_expr }}, k.budget_plan_key)
    order by length(k.budget_plan_key) desc, k.budget_plan_code
    limit 1
)
{%- endmacro %}
