-- Team x site x reporting date: agg_agent_daily summed over the agents in the team that day.
-- The agent-performance dashboard's team-level charts (totals, occupancy and adherence trends)
-- read this instead of the agent x day rows: ~70 teams instead of ~800 agents per day at 10M
-- contacts, so a fresh dashboard connection aggregates a few thousand rows, not a few hundred
-- thousand. Every measure is a plain sum, so any roll-up equals the same roll-up of
-- agg_agent_daily (dbt test assert_team_daily_sums_to_agent_daily).
-- Integer sums are cast to bigint: DuckDB's sum() of integers is a 16-byte HUGEINT, slower to
-- aggregate again and to fetch into Python (Superset) than bigint.
with

daily as (
    select * from {{ ref('agg_agent_daily') }}
),

final as (
    select
        report_date,
        team,
        site_code,
        count(*) as agent_days,
        cast(sum(handled) as bigint) as handled,
        sum(talk_s) as talk_s,
        sum(handle_s) as handle_s,
        sum(occupancy_num) as occupancy_num,
        sum(occupancy_den) as occupancy_den,
        sum(utilization_num) as utilization_num,
        sum(utilization_den) as utilization_den,
        sum(adherence_num) as adherence_num,
        sum(adherence_den) as adherence_den,
        sum(conformance_num) as conformance_num,
        sum(conformance_den) as conformance_den,
        sum(scheduled_s) as scheduled_s,
        cast(sum(case when late_login then 1 else 0 end) as bigint) as late_logins,
        cast(sum(case when early_logout then 1 else 0 end) as bigint) as early_logouts,
        cast(sum(case when absent then 1 else 0 end) as bigint) as absences,
        cast(sum(long_not_ready_count) as bigint) as long_not_ready_count
    from daily
    group by report_date, team, site_code
)

select * from final
