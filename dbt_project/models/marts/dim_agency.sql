-- One row per agency in the registry, with every alias it is known by.
select
    a.agency_id::text as agency_id,
    a.agency_name_th::text as agency_name_th,
    nullif(a.agency_name_en, '')::text as agency_name_en,
    a.ministry_name_th::text as ministry_name_th,
    a.agency_level::text as agency_level,
    {{ label_th('agency_level', 'a.agency_level') }}::text as agency_level_name_th,
    nullif(a.province_name_th, '')::text as province_name_th,
    coalesce(string_agg(al.alias, '; ' order by al.alias), '')::text as aliases
from {{ ref('agencies') }} as a
left join {{ ref('agency_aliases') }} as al on al.agency_id = a.agency_id
group by a.agency_id, a.agency_name_th, a.agency_name_en, a.ministry_name_th, a.agency_level, a.province_name_th
