-- Reconciliation: agg_agent_monthly is agg_agent_daily summed per agent and calendar month (split
-- by roster version), so per agent and month its totals must equal the daily rows'. Returns the
-- agent months that differ.
with

daily as (
    select
        agent_id,
        cast({{ dbt.date_trunc('month', 'report_date') }} as date) as month,
        count(*) as days,
        sum(handled) as handled,
        sum(handle_s) as handle_s,
        sum(case when late_login then 1 else 0 end) as late_logins,
        sum(case when early_logout then 1 else 0 end) as early_logouts,
        sum(case when absent then 1 else 0 end) as absences,
        sum(long_not_ready_count) as long_not_ready_count
    from {{ ref('agg_agent_daily') }}
    group by agent_id, cast({{ dbt.date_trunc('month', 'report_date') }} as date)
),

monthly as (
    select
        agent_id,
        month,
        sum(days) as days,
        sum(handled) as handled,
        sum(handle_s) as handle_s,
        sum(late_logins) as late_logins,
        sum(early_logouts) as early_logouts,
        sum(absences) as absences,
        sum(long_not_ready_count) as long_not_ready_count
    from {{ ref('agg_agent_monthly') }}
    group by agent_id, month
)

select
    coalesce(d.agent_id, m.agent_id) as agent_id,
    coalesce(d.month, m.month) as month,
    d.handled as daily_handled,
    m.handled as monthly_handled
from daily as d
full outer join monthly as m
    on d.agent_id = m.agent_id and d.month = m.month
where
    d.agent_id is null
    or m.agent_id is null
    or d.days <> m.days
    or d.handled <> m.handled
    or abs(d.handle_s - m.handle_s) > 1e-6
    or d.late_logins <> m.late_logins
    or d.early_logouts <> m.early_logouts
    or d.absences <> m.absences
    or d.long_not_ready_count <> m.long_not_ready_count
