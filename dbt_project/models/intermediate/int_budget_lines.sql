-- Budget lines from both sources in one shape, each with its plan code (longest matching
-- plan-name prefix, so OCR garbage after a name still matches). Lines of plans that are not
-- integration plans have no code and are left out of the budget marts.
with lines as (
    select
        'budget_bill' as source,
        fiscal_year_be,
        budget_plan_key,
        agency_id,
        agency_name,
        agency_key,
        coalesce(project_name, output_name, item_description) as project_key,
        amount_baht,
        amount_baht is null as is_amount_unparsed,
        has_extraction_warning,
        file_id,
        source_row
    from {{ ref('int_budget_bill_current') }}
    union all
    select
        'integration_plan',
        fiscal_year_be,
        budget_plan_key,
        agency_id,
        agency_name,
        agency_key,
        project_code,
        allocated_baht,
        false,
        false,
        file_id,
        source_row
    from {{ ref('int_integration_plan_current') }}
)
select
    l.*,
    p.budget_plan_code
from lines as l
cross join lateral (
    select k.budget_plan_code
    from {{ ref('int_budget_plan_keys') }} as k
    where starts_with(l.budget_plan_key, k.budget_plan_key)
    order by length(k.budget_plan_key) desc
    limit 1
) as p
