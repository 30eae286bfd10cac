-- Every registered name and alias by its match key: the one place a name becomes an agency_id.
with names as (
    select agency_id, agency_name_th as name, 'registered name' as kind from {{ ref('agencies') }}
    union all
    select agency_id, alias as name, 'alias' as kind from {{ ref('agency_aliases') }}
)
select distinct on ({{ name_key('name') }})
    {{ name_key('name') }} as agency_key,
    agency_id,
    name as matched_name,
    kind
from names
order by {{ name_key('name') }}, kind desc, agency_id
