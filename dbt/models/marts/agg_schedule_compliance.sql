-- Agent x month schedule rules from the operations manual: longest run of consecutive scheduled
-- work days (a run is counted in the month of each of its days, so runs crossing a month end
-- count in both), rest days, scheduled hours, small / big night shifts and the number of broken rules.
-- A shift's local end is in the time zone of the roster version valid on its schedule_date; the
-- name and team are those of the version valid on the month's first day (as in the scorecard).
with

schedule_days as (
    select * from {{ ref('int_schedules_compared_to_actuals') }}
    where is_work_day
),

agents as (
    select * from {{ ref('int_agents_historized') }}
),

sites as (
    select * from {{ ref('int_sites_configured') }}
),

located as (
    select
        d.agent_id,
        d.schedule_date,
        d.scheduled_s,
        cast(
            {{ utc_to_local('d.shift_end_ts', "coalesce(s.time_zone, '" ~ var('default_time_zone') ~ "')") }}
            as {{ dbt.type_timestamp() }}
        ) as shift_end_local
    from schedule_days as d
    left join agents as a
        on
            d.agent_id = a.agent_id
            and {{ roster_version_valid_on('a', 'd.schedule_date') }}
    left join sites as s
        on a.site_code = s.site_code
),

runs as (
    select
        *,
        {{ dbt.dateadd(
            'day',
            '-1 * row_number() over (partition by agent_id order by schedule_date)',
            'schedule_date'
        ) }} as run_anchor
    from located
),

run_lengths as (
    select
        *,
        count(*) over (
            partition by agent_id, run_anchor order by schedule_date
            rows between unbounded preceding and current row
        ) as run_length_so_far,
        {{ time_of_day('shift_end_local') }} as shift_end_time,
        cast(shift_end_local as date) > schedule_date as ends_after_midnight
    from runs
),

monthly as (
    select
        agent_id,
        cast({{ dbt.date_trunc('month', 'schedule_date') }} as date) as month,
        count(*) as work_days,
        max(run_length_so_far) as consecutive_work_days_max,
        sum(scheduled_s) / 3600.0 as monthly_hours,
        sum(
            case
                when
                    not ends_after_midnight
                    and shift_end_time >= '{{ var("small_night_end_from") }}'
                    and shift_end_time <= '{{ var("small_night_end_to") }}'
                    then 1
                else 0
            end
        ) as small_night_shifts,
        sum(
            case
                when ends_after_midnight or shift_end_time < '{{ var("big_night_end_before") }}' then 1 else 0
            end
        ) as big_night_shifts
    from run_lengths
    group by agent_id, cast({{ dbt.date_trunc('month', 'schedule_date') }} as date)
),

final as (
    select
        m.agent_id,
        a.agent_name,
        a.team,
        m.month,
        m.work_days,
        cast({{ dbt.datediff('m.month', dbt.dateadd('month', 1, 'm.month'), 'day') }} as {{ dbt.type_int() }})
        - m.work_days as rest_days,
        m.consecutive_work_days_max,
        m.monthly_hours,
        m.small_night_shifts,
        m.big_night_shifts,
        (case when m.consecutive_work_days_max > {{ var('max_consecutive_work_days') }} then 1 else 0 end)
        + (
            case
                when
                    cast({{ dbt.datediff('m.month', dbt.dateadd('month', 1, 'm.month'), 'day') }} as {{ dbt.type_int() }})
                    - m.work_days < {{ var('min_rest_days_per_month') }}
                    then 1
                else 0
            end
        ) as violations
    from monthly as m
    left join agents as a
        on
            m.agent_id = a.agent_id
            and {{ roster_version_valid_on('a', 'm.month') }}
)

select * from final
