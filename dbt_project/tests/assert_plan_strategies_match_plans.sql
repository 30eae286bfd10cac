-- Each plan lists as many strategies as plans.strategies says, numbered 1..n.
select p.plan_code, p.strategies, count(s.strategy_no) as listed
from {{ ref('plans') }} as p
left join {{ ref('plan_strategies') }} as s on s.plan_code = p.plan_code
group by p.plan_code, p.strategies
having count(s.strategy_no) <> p.strategies or coalesce(max(s.strategy_no), 0) <> p.strategies
