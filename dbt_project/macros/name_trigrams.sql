{#
  The character trigrams of a name key as an array, for a similarity between two names without the
  pg_trgm extension (not every warehouse has it): the key padded as pg_trgm pads a word (two spaces
  before, one after), each distinct three-character window once (none for an empty key). name_similarity(a, b) of two such
  arrays is shared / (all of a + all of b - shared), between 0 (nothing in common) and 1 (the same
  key), as pg_trgm's similarity() counts it.
#}
{% macro name_trigrams(key) -%}
    array(
        select distinct substr('  ' || {{ key }} || ' ', pos, 3)
        from generate_series(1, length({{ key }}) + 1) as pos
        where {{ key }} <> ''
    )
{%- endmacro %}

{% macro name_similarity(a, b) -%}
    coalesce((
        select 1.0 * count(*) / nullif(cardinality({{ a }}) + cardinality({{ b }}) - count(*), 0)
        from unnest({{ a }}) as shared(gram)
        where shared.gram = any({{ b }})
    ), 0)
{%- endmacro %}
