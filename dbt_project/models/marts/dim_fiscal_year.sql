-- Thai fiscal years from the fiscal_years seed: FY BE n runs 1 Oct (CE n-544) to 30 Sep (CE n-543);
-- tests/assert_fiscal_years_follow_the_calendar.sql checks every row against that rule.
select
    fiscal_year_be::integer as fiscal_year_be,
    fiscal_year_ce::integer as fiscal_year_ce,
    starts_on::date as starts_on,
    ends_on::date as ends_on
from {{ ref('fiscal_years') }}
