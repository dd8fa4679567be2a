-- Schedule vs actual, one row per agent and scheduled day (schedule_date is the site-local date
-- of the shift start). Adherence counts seconds in the scheduled state at the scheduled time:
-- productive states (available, on_contact, acw) during work time outside breaks, and not_ready
-- with the activity as reason during a break / lunch / training / meeting. Breaks lie inside the
-- shift's `work` row, so work time outside breaks = work row minus its breaks.
-- Overlaps are found per agent and UTC day: every row is listed under each UTC date it touches,
-- and a pair of overlapping rows is kept under the date its overlap starts on, so each pair is
-- counted once. (Matching on agent alone compared each schedule row with the agent's whole
-- state history, which grew with every day loaded.)
-- Incremental (delete+insert by schedule_date): a run rebuilds the scheduled days of schedule rows
-- loaded since the table's newest loaded_at, those that lost schedule rows (a re-export replacing
-- rows, a rollback; activity_rows counts them), and those with a schedule row overlapping a local day
-- (of any site) the state timeline rebuilt: every state that changed, old or new version, lies in
-- such a day (the timeline uses the same states and data end), and only overlapping pairs count.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='schedule_date',
        on_schema_change='sync_all_columns',
        post_hook=["{{ record_agent_build() }}"]
    )
}}

-- reads the dates the timeline logged, so it must run after it:
-- depends_on: {{ ref('int_agent_states_timeline') }}

{% set base_ctes %}
all_activities as {{ not_materialized() }} (
    select * from {{ ref('stg_workforce__schedule_activities') }}
),

all_states as {{ not_materialized() }} (
    select * from {{ ref('stg_workforce__agent_states') }}
),

days as (
    select * from {{ ref('int_local_days_bounded') }}
)
{% endset %}

{%- set incremental = agent_chain_is_incremental(['int_agent_states_timeline']) -%}

with

{{ base_ctes }},

{% if incremental %}
    dates_to_rebuild as (
        {{ log_rebuilt_dates(base_ctes, schedule_dates_to_rebuild('all_activities', 'days')) }}
    ),

    activities as (
        select * from all_activities
        where schedule_date in (select dr.report_date from dates_to_rebuild as dr)
    ),

    -- states that can overlap a rebuilt day's schedule rows (the data end still comes from all)
    states as (
        select s.* from all_states as s
        cross join (
            select
                min(a.start_ts) as from_ts,
                max(a.end_ts) as to_ts
            from activities as a
        ) as r
        where (s.end_ts is null or s.end_ts >= r.from_ts) and s.start_ts <= r.to_ts
    ),
{% else %}
    activities as (
        select * from all_activities
    ),

    states as (
        select * from all_states
    ),
{% endif %}

states_closed as (
    select
        s.agent_id,
        s.state,
        s.reason,
        s.start_ts,
        coalesce(s.end_ts, d.data_end_ts) as end_ts
    from states as s
    cross join (select max(coalesce(end_ts, start_ts)) as data_end_ts from all_states) as d
),

states_by_day as (
    select
        *,
        {{ date_series('start_ts', 'end_ts') }} as utc_date
    from states_closed
),

work_rows as (
    select
        *,
        {{ date_series('start_ts', 'end_ts') }} as utc_date
    from activities
    where activity = 'work'
),

inner_rows as (
    select
        *,
        {{ date_series('start_ts', 'end_ts') }} as utc_date
    from activities
    where activity in ('break', 'lunch', 'training', 'meeting')
),

-- seconds of each activity row spent in a given state set
work_productive as (
    select
        w.agent_id,
        w.schedule_date,
        sum({{ seconds_between(
            'case when s.start_ts > w.start_ts then s.start_ts else w.start_ts end',
            'case when s.end_ts < w.end_ts then s.end_ts else w.end_ts end'
        ) }}) as productive_s
    from work_rows as w
    inner join states_by_day as s
        on
            w.agent_id = s.agent_id
            and w.utc_date = s.utc_date
            and s.state in ('available', 'on_contact', 'acw')
            and w.end_ts > s.start_ts
            and w.start_ts < s.end_ts
            and w.utc_date = cast(case when w.start_ts > s.start_ts then w.start_ts else s.start_ts end as date)
    group by w.agent_id, w.schedule_date
),

inner_overlaps as (
    select
        i.agent_id,
        i.schedule_date,
        sum(case when s.state in ('available', 'on_contact', 'acw') then {{ seconds_between(
            'case when s.start_ts > i.start_ts then s.start_ts else i.start_ts end',
            'case when s.end_ts < i.end_ts then s.end_ts else i.end_ts end'
        ) }} else 0 end) as productive_s,
        sum(case when s.state = 'not_ready' and s.reason = i.activity then {{ seconds_between(
            'case when s.start_ts > i.start_ts then s.start_ts else i.start_ts end',
            'case when s.end_ts < i.end_ts then s.end_ts else i.end_ts end'
        ) }} else 0 end) as in_activity_s
    from inner_rows as i
    inner join states_by_day as s
        on
            i.agent_id = s.agent_id
            and i.utc_date = s.utc_date
            and i.end_ts > s.start_ts
            and i.start_ts < s.end_ts
            and i.utc_date = cast(case when i.start_ts > s.start_ts then i.start_ts else s.start_ts end as date)
    group by i.agent_id, i.schedule_date
),

sessions as (
    select
        w.agent_id,
        w.schedule_date,
        min(s.start_ts) as first_login_ts,
        max(s.end_ts) as last_logout_ts
    from work_rows as w
    inner join states_by_day as s
        on
            w.agent_id = s.agent_id
            and w.utc_date = s.utc_date
            and s.state = 'logged_in'
            and w.end_ts > s.start_ts
            and w.start_ts < s.end_ts
            and w.utc_date = cast(case when w.start_ts > s.start_ts then w.start_ts else s.start_ts end as date)
    group by w.agent_id, w.schedule_date
),

scheduled_days as (
    select
        agent_id,
        schedule_date,
        min(case when activity = 'work' then shift_code end) as shift_code,
        min(case when activity = 'work' then start_ts end) as shift_start_ts,
        max(case when activity = 'work' then end_ts end) as shift_end_ts,
        sum(case when activity = 'work' then {{ seconds_between('start_ts', 'end_ts') }} else 0 end)
            as scheduled_s,
        sum(case
            when activity in ('break', 'lunch', 'training', 'meeting')
                then {{ seconds_between('start_ts', 'end_ts') }}
            else 0
        end) as scheduled_inner_s,
        sum(case when activity = 'leave' then {{ seconds_between('start_ts', 'end_ts') }} else 0 end)
            as scheduled_leave_s,
        -- newest schedule load behind the row (the watermark of the incremental rebuild) and the
        -- number of schedule rows, which reveals rows deleted since
        max(loaded_at) as loaded_at,
        count(*) as activity_rows
    from activities
    group by agent_id, schedule_date
),

final as (
    select
        d.agent_id,
        d.schedule_date,
        d.shift_code,
        d.shift_start_ts,
        d.shift_end_ts,
        d.scheduled_s,
        d.scheduled_inner_s,
        d.scheduled_leave_s,
        d.scheduled_s > 0 as is_work_day,
        coalesce(wp.productive_s, 0) - coalesce(io.productive_s, 0) + coalesce(io.in_activity_s, 0)
            as adherent_s,
        ss.first_login_ts,
        ss.last_logout_ts,
        d.scheduled_s > 0 and (
            ss.first_login_ts is null
            or ss.first_login_ts > {{ dbt.dateadd('second', var('absent_after_late_s'), 'd.shift_start_ts') }}
        ) as is_absent,
        coalesce(
            ss.first_login_ts > {{ dbt.dateadd('second', var('late_login_grace_s'), 'd.shift_start_ts') }}
            and ss.first_login_ts <= {{ dbt.dateadd('second', var('absent_after_late_s'), 'd.shift_start_ts') }},
            false
        ) as is_late_login,
        coalesce(
            ss.first_login_ts <= {{ dbt.dateadd('second', var('absent_after_late_s'), 'd.shift_start_ts') }}
            and ss.last_logout_ts < d.shift_end_ts,
            false
        ) as is_early_logout,
        d.loaded_at,
        d.activity_rows
    from scheduled_days as d
    left join work_productive as wp
        on d.agent_id = wp.agent_id and d.schedule_date = wp.schedule_date
    left join inner_overlaps as io
        on d.agent_id = io.agent_id and d.schedule_date = io.schedule_date
    left join sessions as ss
        on d.agent_id = ss.agent_id and d.schedule_date = ss.schedule_date
)

select * from final
