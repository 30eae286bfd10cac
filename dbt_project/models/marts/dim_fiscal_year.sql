-- Thai fiscal years: FY BE n runs 1 Oct (CE n-544) to 30 Sep (CE n-543).
select
    fy::integer as fiscal_year_be,
    (fy - 543)::integer as fiscal_year_ce,
    make_date(fy - 544, 10, 1)::date as starts_on,
    make_date(fy - 543, 9, 30)::date as ends_on
from generate_series(2550, 2600) as fy
