-- Reconciliation: the interval mart neither loses nor duplicates queue stints or handled legs
-- (every stint / leg falls into exactly one spine interval of its queue). Returns offending queues.
with

stint_totals as (
    select
        queue_code,
        count(*) as offered,
        sum(case when outcome = 'answered' then 1 else 0 end) as answered,
        sum(case when outcome = 'abandoned' then 1 else 0 end) as abandoned,
        sum(case when answered_within_t then 1 else 0 end) as answered_within_t
    from {{ ref('fct_queue_stints') }}
    group by queue_code
),

leg_totals as (
    select
        queue_code,
        count(*) as handled
    from {{ ref('fct_agent_segments') }}
    where queue_code is not null
    group by queue_code
),

mart_totals as (
    select
        queue_code,
        sum(offered) as offered,
        sum(answered) as answered,
        sum(abandoned) as abandoned,
        sum(answered_within_t) as answered_within_t,
        sum(handled) as handled
    from {{ ref('agg_queue_interval') }}
    group by queue_code
)

select
    coalesce(s.queue_code, m.queue_code) as queue_code,
    s.offered as fact_offered,
    m.offered as mart_offered,
    l.handled as fact_handled,
    m.handled as mart_handled
from stint_totals as s
full outer join mart_totals as m
    on s.queue_code = m.queue_code
left join leg_totals as l
    on coalesce(s.queue_code, m.queue_code) = l.queue_code
where
    coalesce(s.offered, 0) <> coalesce(m.offered, 0)
    or coalesce(s.answered, 0) <> coalesce(m.answered, 0)
    or coalesce(s.abandoned, 0) <> coalesce(m.abandoned, 0)
    or coalesce(s.answered_within_t, 0) <> coalesce(m.answered_within_t, 0)
    or coalesce(l.handled, 0) <> coalesce(m.handled, 0)
