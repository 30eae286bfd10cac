-- The 26 capability domains: phase 1 covers as many as the first plan (dg_2559_2561) lists, and
-- every plan's domain count is covered by the phases up to 2 (seed 000: 18 + 8 = 26).
with phases as (
    select count(*) as total, count(*) filter (where phase = 1) as phase_1 from {{ ref('capability_domains') }}
)
select p.plan_code, p.capability_domains, ph.total, ph.phase_1
from {{ ref('plans') }} as p
cross join phases as ph
where (p.plan_code = 'dg_2559_2561' and p.capability_domains <> ph.phase_1)
   or p.capability_domains > ph.total
