-- Every code a mart carries has its Thai label beside it (macro label_th, seeds): a code without a
-- label row in its seed would show as an empty label. Any row here is such a code.
{% set pairs = [
    ('project_status', 'plan_code', 'plan_name_th'),
    ('project_status', 'status', 'status_name_th'),
    ('project_status', 'reported_status', 'reported_status_name_th'),
    ('project_status', 'is_behind_plan::text', 'is_behind_plan_th'),
    ('project_status', 'capability_domain_code::text', 'capability_domain_name_th'),
    ('project_status_by_year', 'plan_code', 'plan_name_th'),
    ('obstacles_by_year', 'category', 'category_name_th'),
    ('project_obstacles', 'category', 'category_name_th'),
    ('budget_by_year', 'budget_plan_code', 'budget_plan_name_th'),
    ('budget_by_year', 'source', 'source_name_th'),
    ('budget_by_agency_year', 'source', 'source_name_th'),
    ('budget_by_approach_focus_year', 'approach_code', 'approach_label_th'),
    ('budget_requested_allocated', 'approach_code', 'approach_label_th'),
    ('budget_plan_vs_bill', 'match_rule', 'match_rule_name_th'),
    ('budget_plan_vs_bill', 'approach_code', 'approach_label_th'),
    ('readiness_by_year', 'agency_level', 'agency_level_name_th'),
    ('readiness_by_year', 'readiness_band', 'readiness_band_name_th'),
    ('readiness_summary_by_year', 'agency_level', 'agency_level_name_th'),
    ('readiness_by_dimension_year', 'agency_level', 'agency_level_name_th'),
    ('agency_scorecard', 'readiness_band', 'readiness_band_name_th'),
    ('dim_agency', 'agency_level', 'agency_level_name_th'),
    ('dim_project', 'plan_code', 'plan_name_th'),
    ('dim_strategy', 'plan_code', 'plan_name_th'),
    ('submission_coverage', 'submission_type', 'submission_type_name_th'),
    ('submission_coverage', 'agency_level', 'agency_level_name_th'),
] %}
{% for model, code, label in pairs %}
select '{{ model }}' as mart, '{{ label }}' as label_column, ({{ code }})::text as code
from {{ ref(model) }}
where ({{ code }}) is not null and {{ label }} is null
{% if not loop.last %}union all{% endif %}
{% endfor %}
