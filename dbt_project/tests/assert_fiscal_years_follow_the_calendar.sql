-- Every fiscal year in the seed follows the Thai calendar rule, and the years have no gaps.
select fiscal_year_be, 'breaks the 1 Oct - 30 Sep / BE = CE + 543 rule' as problem
from {{ ref('fiscal_years') }}
where fiscal_year_ce <> fiscal_year_be - 543
   or starts_on <> make_date(fiscal_year_be - 544, 10, 1)
   or ends_on <> make_date(fiscal_year_be - 543, 9, 30)
union all
select null, 'years are not contiguous'
from {{ ref('fiscal_years') }}
having count(*) <> max(fiscal_year_be) - min(fiscal_year_be) + 1
