-- Budget plans by name key; names are matched by prefix so OCR garbage after a name still matches.
select
    budget_plan_code,
    budget_plan_name_th,
    {{ name_key('budget_plan_name_th') }} as budget_plan_key
from {{ ref('budget_plans') }}
