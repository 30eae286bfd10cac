{#
  Matching key for project names (budget_plan_vs_bill): the agency name key (macro name_key: NFC,
  zero-width characters, spacing, punctuation and Thai vowel/tone marks out, so PDF-scrambled mark
  order matches), Thai digits as Arabic digits, and without a leading "โครงการ" ("project"), which
  the budget bill and the integration plan write or leave out as they please.
#}
{% macro project_name_key(expr) -%}
    regexp_replace(translate({{ name_key(expr) }}, '๐๑๒๓๔๕๖๗๘๙', '0123456789'), '^โครงการ', '')
{%- endmacro %}
