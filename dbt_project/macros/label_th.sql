{#-
  The Thai label of a code, the one place marts take display labels from: a scalar subquery on the
  seed that holds the code set, so a mart carries <code>_name_th beside <code> without a CASE of its
  own. Use as {{ label_th('agency_level', 'r.agency_level') }}.

  code_set: agency_level, project_status, reported_status, behind_plan (a boolean; null reads
    'unknown'), source, submission_type, complete, loaded, match_rule, unmatched_reason, plan and
    approach (short labels) - all in seed code_labels; obstacle_category, readiness_band,
    budget_plan, focus_area - in their own seeds.
  column: 'label_th' (default), 'label_en' or 'sort_order' (code_labels sets only).
-#}
{% macro label_th(code_set, expr, column='label_th') %}
    {%- set own_seeds = {
        'obstacle_category': ('obstacle_categories', 'category', 'category_name_th'),
        'readiness_band': ('readiness_bands', 'readiness_band', 'band_name_th'),
        'budget_plan': ('budget_plans', 'budget_plan_code', 'budget_plan_name_th'),
        'focus_area': ('focus_areas', 'focus_area_code', 'focus_area_name_th'),
    } -%}
    {%- if code_set in own_seeds -%}
        {%- set seed, key, label = own_seeds[code_set] -%}
        (select lbl.{{ label }} from {{ ref(seed) }} as lbl where lbl.{{ key }} = ({{ expr }}))
    {%- elif column not in ('label_th', 'label_en', 'sort_order') -%}
        {{ exceptions.raise_compiler_error("label_th: unknown label column " ~ column) }}
    {%- else -%}
        {%- set code = "coalesce((" ~ expr ~ ")::text, 'unknown')" if code_set == 'behind_plan'
                       else "(" ~ expr ~ ")::text" -%}
        (select lbl.{{ column }} from {{ ref('code_labels') }} as lbl
         where lbl.code_set = '{{ code_set }}' and lbl.code = {{ code }})
    {%- endif -%}
{% endmacro %}
