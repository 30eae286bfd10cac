{#
  Matching key for agency and plan names; the same key as ground.thai.name_key (a test keeps
  them equal): NFC, zero-width characters out, the character repairs PyThaiNLP's normalize makes
  for PDF damage (nikhahit + sara aa -> sara am, doubled sara e -> sara ae, lakkhangyao -> sara aa,
  repeated leading vowels), then without "องค์การมหาชน", Thai non-spacing marks, spaces and
  punctuation, lower-cased.
#}
{% macro name_key(expr) -%}
    lower(regexp_replace(replace(
        regexp_replace(regexp_replace(replace(regexp_replace(
            regexp_replace(normalize({{ expr }}, NFC), '[\u200b\u200c\u200d\u2060\ufeff]', '', 'g'),
            '\u0e4d[\u0e48-\u0e4b]*\u0e32', 'ำ', 'g'), 'เเ', 'แ'), '([^ฤฦ])ๅ', '\1า', 'g'),
            '([เแโใไะาำ])( *\1)+', '\1', 'g'),
        'องค์การมหาชน', ''),
        '[\s.()\[\]\-_,''"/\u200b\u200c\u200d\u2060\ufeff\u00ad\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]', '', 'g'))
{%- endmacro %}
