-- Agent x month: agg_agent_daily's handled work and attendance exceptions summed per calendar
-- month, split where the agent's roster version (name, team, site) changed within the month so
-- every day keeps the team it had that day. The agent-performance dashboard's per-agent charts
-- (AHT distribution by team, attendance exceptions) read this: ~800 agents x 12 months instead
-- of x 365 days at 10M contacts. Sums only, so any roll-up equals agg_agent_daily's over the
-- same whole months (dbt test assert_agent_monthly_sums_to_agent_daily).
-- Integer sums are cast to bigint: DuckDB's sum() of integers is a 16-byte HUGEINT, slower to
-- aggregate again and to fetch into Python (Superset) than bigint.
with

daily as (
    select * from {{ ref('agg_agent_daily') }}
),

final as (
    select
        cast({{ dbt.date_trunc('month', 'report_date') }} as date) as month,
        agent_id,
        agent_name,
        team,
        site_code,
        count(*) as days,
        cast(sum(handled) as bigint) as handled,
        sum(talk_s) as talk_s,
        sum(handle_s) as handle_s,
        cast(sum(case when late_login then 1 else 0 end) as bigint) as late_logins,
        cast(sum(case when early_logout then 1 else 0 end) as bigint) as early_logouts,
        cast(sum(case when absent then 1 else 0 end) as bigint) as absences,
        cast(sum(long_not_ready_count) as bigint) as long_not_ready_count
    from daily
    group by
        cast({{ dbt.date_trunc('month', 'report_date') }} as date),
        agent_id,
        agent_name,
        team,
        site_code
)

select * from final
