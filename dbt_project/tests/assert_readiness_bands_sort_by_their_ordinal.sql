-- The maturity bands read in their order (1 E-Government .. 5 Smart) wherever they are sorted as text:
-- readiness_band_label_en sorted alphabetically gives the same order as readiness_band_no. Rows here are
-- bands out of place.
with bands as (
    select distinct readiness_band_no, readiness_band_label_en from {{ ref('readiness_by_year') }}
    where readiness_band_no is not null
)
select readiness_band_no, readiness_band_label_en
from (
    select
        readiness_band_no,
        readiness_band_label_en,
        row_number() over (order by readiness_band_no) as by_ordinal,
        row_number() over (order by readiness_band_label_en collate "C") as by_text
    from bands
) as s
where by_ordinal <> by_text
