{#
  Incremental facts, rebuilt partition by partition (delete+insert on the partition columns).

  A partition is a fiscal year plus a supersession scope (partition_key): an agency's survey or
  plan rows for that year, or one budget book. A partition holds the rows of exactly one file, the
  newest for its scope (received_at from the ledger, then file_id), so an incremental run compares,
  per partition, the newest file in staging with the file the fact holds and rebuilds only the
  partitions where they differ (a new or corrected file arrived) or that the fact lacks. A file
  that arrives older than the one the fact holds changes nothing and rebuilds nothing. This needs
  no watermark, so a file whose load commits late (ids are not commit-ordered) is never skipped.

  The pre-hook (rebuild_partitions_hook) first deletes partitions that must be rebuilt for other
  reasons, so they count as missing: partitions whose agency match (or budget plan code) no longer
  agrees with the registry seeds, and, when vars fy_from/fy_to are set, every partition of those
  fiscal years (the backfill). Both run in the model's transaction, which holds an advisory lock
  on the fact so that concurrent builds of it run one after the other.
#}

{#- vars fy_from / fy_to (BE): none, or [from, to] after validation. Values may arrive as strings. -#}
{% macro fy_range() %}
    {%- set lo = var('fy_from', none) -%}
    {%- set hi = var('fy_to', none) -%}
    {%- if lo in (none, '', 'None') and hi in (none, '', 'None') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if lo in (none, '', 'None') or hi in (none, '', 'None') -%}
        {{ exceptions.raise_compiler_error("vars fy_from and fy_to go together; got fy_from=" ~ lo ~ ", fy_to=" ~ hi) }}
    {%- endif -%}
    {%- set lo_int = lo | string | trim | int(-1) -%}
    {%- set hi_int = hi | string | trim | int(-1) -%}
    {%- if not (2400 <= lo_int <= hi_int <= 2700) -%}
        {{ exceptions.raise_compiler_error("vars fy_from/fy_to must be Buddhist Era years with fy_from <= fy_to; got "
                                           ~ lo ~ " and " ~ hi) }}
    {%- endif -%}
    {{ return([lo_int, hi_int]) }}
{% endmacro %}

{#-
  Condition on a candidate row `alias` (columns partition_fy_be, partition_key, file_id; the file is
  already the newest of its partition): true when this run must (re)build the row's partition -
  always on a full build; on an incremental one when the fact does not hold the partition from that
  file (it lacks the partition, or holds an older file's rows: every partition is written whole
  from one file, so one probe decides). The probe uses the fact's (partition year, partition_key,
  file_id) index, so the plan stays cheap whatever the row estimates (a nested loop over a hash
  aggregate of the fact, chosen on a fresh table without statistics, took 40 s on the sample).
-#}
{% macro needs_build(alias, fy_column) -%}
{%- if is_incremental() -%}
not exists (
    select 1 from {{ this }} as held
    where held.{{ fy_column }} = {{ alias }}.partition_fy_be
      and held.partition_key = {{ alias }}.partition_key
      and held.file_id = {{ alias }}.file_id
)
{%- else -%}
true
{%- endif -%}
{%- endmacro %}

{#- Stored agency_id no longer what the registry says for the stored agency_key (alias added, ...). -#}
{% macro agency_match_changed(alias) -%}
{{ alias }}.agency_key in (
    select h.agency_key
    from (select distinct agency_key, agency_id from {{ this }}) as h
    left join {{ ref('int_agency_keys') }} as k on k.agency_key = h.agency_key
    where h.agency_id is distinct from k.agency_id
)
{%- endmacro %}

{#-
  Pre-hook: delete the partitions to rebuild for reasons other than a newer file (see above).
  `changed` is a condition on alias d (a fact row) that marks its partition stale.
-#}
{% macro rebuild_partitions_hook(fy_column, changed) %}
    {#- Two builds of one fact at once (a nightly and a backfill) would both re-insert the partitions
        they deleted; the lock makes the second wait and then see the first's result. -#}
    select pg_advisory_xact_lock(hashtext({{ dbt.string_literal(this | string) }}));
    {#- A file-only night follows a successful build of the same project, seeds included: no stale match. -#}
    {%- set range = fy_range() -%}
    {%- if is_incremental() and (range or night_files() is none) -%}
        delete from {{ this }} as t
        using (
            select distinct d.{{ fy_column }} as partition_fy_be, d.partition_key
            from {{ this }} as d
            where {{ changed }}
            {%- if range %}
                or d.{{ fy_column }} between {{ range[0] }} and {{ range[1] }}
            {%- endif %}
        ) as r
        where t.{{ fy_column }} = r.partition_fy_be and t.partition_key = r.partition_key
    {%- endif -%}
{% endmacro %}

{#- Post-hook: fresh statistics for the next incremental run and the marts built from the fact; a file-only
    night changes the partitions of its files only, and leaves them to autovacuum. -#}
{% macro analyze_this() -%}
    {%- if night_files() is none -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The build that wrote a row: compare across runs to see which partitions a run rebuilt. -#}
{% macro build_columns() -%}
    {{ dbt.string_literal(invocation_id) }}::text as dbt_invocation_id,
    {{ dbt.string_literal(run_started_at.isoformat()) }}::timestamptz as dbt_built_at
{%- endmacro %}
