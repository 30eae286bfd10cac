{#
  Matching key for agency and plan names; the same key as ingest.thai.name_key (a test keeps
  them equal): NFC, without "องค์การมหาชน", Thai non-spacing marks, spaces, punctuation and
  zero-width characters, lower-cased.
#}
{% macro name_key(expr) -%}
    lower(regexp_replace(replace(normalize({{ expr }}, NFC), 'องค์การมหาชน', ''),
        '[\s.()\[\]\-_,''"/\u200b\u200c\u200d\u2060\ufeff\u00ad\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]', '', 'g'))
{%- endmacro %}
