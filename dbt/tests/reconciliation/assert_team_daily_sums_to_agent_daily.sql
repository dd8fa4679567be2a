-- Reconciliation: agg_team_daily is agg_agent_daily summed by team, site and date, so per date
-- its totals must equal the agent rows' (a team or site lost to a null key, or an agent day
-- counted twice, shows up). Returns the dates that differ.
with

agents as (
    select
        report_date,
        count(*) as agent_days,
        sum(handled) as handled,
        sum(handle_s) as handle_s,
        sum(occupancy_num) as occupancy_num,
        sum(occupancy_den) as occupancy_den,
        sum(adherence_num) as adherence_num,
        sum(adherence_den) as adherence_den,
        sum(case when absent then 1 else 0 end) as absences
    from {{ ref('agg_agent_daily') }}
    group by report_date
),

teams as (
    select
        report_date,
        sum(agent_days) as agent_days,
        sum(handled) as handled,
        sum(handle_s) as handle_s,
        sum(occupancy_num) as occupancy_num,
        sum(occupancy_den) as occupancy_den,
        sum(adherence_num) as adherence_num,
        sum(adherence_den) as adherence_den,
        sum(absences) as absences
    from {{ ref('agg_team_daily') }}
    group by report_date
)

select
    coalesce(a.report_date, t.report_date) as report_date,
    a.agent_days as agent_rows,
    t.agent_days as team_rows
from agents as a
full outer join teams as t
    on a.report_date = t.report_date
where
    a.report_date is null
    or t.report_date is null
    or a.agent_days <> t.agent_days
    or a.handled <> t.handled
    or abs(a.handle_s - t.handle_s) > 1e-6
    or abs(a.occupancy_num - t.occupancy_num) > 1e-6
    or abs(a.occupancy_den - t.occupancy_den) > 1e-6
    or abs(a.adherence_num - t.adherence_num) > 1e-6
    or abs(a.adherence_den - t.adherence_den) > 1e-6
    or a.absences <> t.absences
