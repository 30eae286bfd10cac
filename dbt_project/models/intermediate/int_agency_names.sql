-- Every registered name and alias as written, with its match key: a name in the data written exactly so has
-- this key, so models look it up here and compute name_key() only for names written some other way.
with names as (
    select agency_name_th as name from {{ ref('agencies') }}
    union
    select alias as name from {{ ref('agency_aliases') }}
)
select
    name as agency_name,
    {{ name_key('name') }} as agency_key
from names
where name is not null
