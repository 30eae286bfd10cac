select
    file_id,
    source_sheet,
    source_row,
    survey_year_be,
    agency_name,
    {{ name_key('agency_name') }} as agency_key,
    agency_level,
    province_name,
    responded,
    score_strategy::numeric(5, 2) as score_strategy,
    score_public_services::numeric(5, 2) as score_public_services,
    score_infrastructure::numeric(5, 2) as score_infrastructure,
    score_data::numeric(5, 2) as score_data,
    score_personnel::numeric(5, 2) as score_personnel,
    score_regulation::numeric(5, 2) as score_regulation,
    submitted_on
from {{ source('raw', 'readiness') }}
