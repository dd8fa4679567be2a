-- Team x wave workload over the days before the wave closed (dbt var stress_workload_window_days,
-- default 91), from the workforce marts agg_agent_daily (team of the day) and
-- agg_schedule_compliance (agent x month). Joined to the survey on team only: agent ids stay on
-- this side. A long run is more than stress_long_run_days (default 5, METRICS.md) consecutive work
-- days. With dbt var stress_workload_from_marts=false the two inputs are empty, so the stress models
-- build on their own (a survey-only installation, or tests).
{%- set from_marts = var('stress_workload_from_marts', true) %}
with agent_daily as (
    {%- if from_marts %}
        select
            team,
            agent_id,
            report_date,
            handled,
            logged_in_s,
            occupancy_num,
            occupancy_den
        from {{ ref('agg_agent_daily') }}
    {%- else %}
        select
            cast(null as varchar) as team,
            cast(null as varchar) as agent_id,
            cast(null as date) as report_date,
            cast(null as bigint) as handled,
            cast(null as double) as logged_in_s,
            cast(null as double) as occupancy_num,
            cast(null as double) as occupancy_den
        where false
    {%- endif %}
),

compliance as (
    {%- if from_marts %}
        select
            team,
            month,
            small_night_shifts,
            big_night_shifts,
            consecutive_work_days_max
        from {{ ref('agg_schedule_compliance') }}
    {%- else %}
        select
            cast(null as varchar) as team,
            cast(null as date) as month,
            cast(null as bigint) as small_night_shifts,
            cast(null as bigint) as big_night_shifts,
            cast(null as bigint) as consecutive_work_days_max
        where false
    {%- endif %}
),

wave_windows as (
    select
        wave,
        cast(max(submitted_at) as date) as window_end,
        cast(max(submitted_at) as date)
        - interval '{{ var("stress_workload_window_days", 91) }}' day as window_start
    from {{ ref('stg_stress__responses') }}
    group by wave
),

daily as (
    select
        wave_windows.wave,
        agent_daily.team,
        count(distinct agent_daily.agent_id) as agents,
        sum(agent_daily.handled) as handled,
        sum(agent_daily.logged_in_s) as logged_in_s,
        sum(agent_daily.occupancy_num) as occupancy_num,
        sum(agent_daily.occupancy_den) as occupancy_den
    from agent_daily
    inner join wave_windows
        on
            agent_daily.report_date > wave_windows.window_start
            and agent_daily.report_date <= wave_windows.window_end
    group by wave_windows.wave, agent_daily.team
),

-- Months that start inside the window; the team is the agent's current team (as the mart has it).
monthly as (
    select
        wave_windows.wave,
        compliance.team,
        count(*) as agent_months,
        sum(compliance.small_night_shifts + compliance.big_night_shifts) as night_shifts,
        sum(compliance.consecutive_work_days_max) as consecutive_work_days_max_sum,
        sum(
            case when compliance.consecutive_work_days_max > {{ var('stress_long_run_days', 5) }} then 1 else 0 end
        ) as long_run_agent_months
    from compliance
    inner join wave_windows
        on
            compliance.month > wave_windows.window_start
            and compliance.month <= wave_windows.window_end
    group by wave_windows.wave, compliance.team
)

select
    coalesce(daily.wave, monthly.wave) as wave,
    coalesce(daily.team, monthly.team) as team,
    daily.agents,
    daily.handled,
    daily.logged_in_s,
    daily.occupancy_num,
    daily.occupancy_den,
    monthly.agent_months,
    monthly.night_shifts,
    monthly.consecutive_work_days_max_sum,
    monthly.long_run_agent_months
from daily
full outer join monthly
    on daily.wave = monthly.wave and daily.team = monthly.team
