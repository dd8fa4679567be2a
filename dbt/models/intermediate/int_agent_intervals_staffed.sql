-- Per agent and 30-minute interval: seconds logged in, scheduled paid seconds, and the part of
-- that paid time (work and leave) planned away from contacts (breaks, lunch, training, meetings, leave).
-- Each time span is expanded into the interval starts it can touch (interval_floor of its start to
-- that of its end) and equi-joined to the spine on (time_zone, interval_start_utc); joining the
-- spine on the overlap alone compared every span with every interval of its zone. Spine intervals
-- lie on the UTC interval grid (see interval_floor and DECISIONLOG).
-- Schedule rows are placed at the site of the roster version valid on their schedule_date (a shift
-- and its breaks stay at one site); logged-in time comes from the timeline, placed by the version
-- valid at each episode's start.
-- Incremental (delete+insert by interval_start_utc, every agent and site of an interval together):
-- a run rebuilds the intervals of the local days (any site) the state timeline rebuilt since this
-- model's last build, of schedule rows loaded since its newest loaded_at, and of schedule rows
-- deleted since or placed elsewhere by a roster export (found per agent, site and time zone,
-- macros/agent_incremental.sql): a roster move rebuilds the intervals from the move on only.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='interval_start_utc',
        on_schema_change='sync_all_columns',
        post_hook=["{{ record_agent_build() }}"]
    )
}}

{%- set incremental = agent_chain_is_incremental(['int_agent_states_timeline']) -%}

with

all_activities as (
    select * from {{ ref('stg_workforce__schedule_activities') }}
    where activity in ('work', 'break', 'lunch', 'training', 'meeting', 'leave')
),

agents as (
    select * from {{ ref('int_agents_historized') }}
),

sites as (
    select * from {{ ref('int_sites_configured') }}
),

all_spine as (
    select * from {{ ref('int_intervals_generated') }}
),

all_located_activities as (
    select
        a.agent_id,
        a.activity,
        a.start_ts,
        a.end_ts,
        a.loaded_at,
        coalesce(ag.site_code, '{{ var("default_site_code") }}') as site_code,
        coalesce(s.time_zone, '{{ var("default_time_zone") }}') as time_zone
    from all_activities as a
    left join agents as ag
        on
            a.agent_id = ag.agent_id
            and {{ roster_version_valid_on('ag', 'a.schedule_date') }}
    left join sites as s
        on coalesce(ag.site_code, '{{ var("default_site_code") }}') = s.site_code
),

{% if incremental %}
    changed_agents as (
        {{ staffed_changed_agents('all_located_activities') }}
    ),

    intervals_to_rebuild as (
        {{ staffed_intervals_to_rebuild('all_located_activities', 'all_spine') }}
    ),

    spine as (
        select * from all_spine
        where interval_start_utc in (select i.interval_start_utc from intervals_to_rebuild as i)
    ),

    -- the timeline's pieces on the local days holding a rebuilt interval (a piece lies in one day)
    timeline as (
        select * from {{ ref('int_agent_states_timeline') }}
        where
            state = 'logged_in'
            and report_date in (select distinct sp.report_date from spine as sp)
    ),

    located_activities as (
        select a.* from all_located_activities as a
        cross join (
            select
                min(sp.interval_start_utc) as from_ts,
                max(sp.interval_end_utc) as to_ts
            from spine as sp
        ) as r
        where a.end_ts > r.from_ts and a.start_ts < r.to_ts
    ),
{% else %}
    spine as (
        select * from all_spine
    ),

    timeline as (
        select * from {{ ref('int_agent_states_timeline') }}
        where state = 'logged_in'
    ),

    located_activities as (
        select * from all_located_activities
    ),
{% endif %}

logged_in as (
    select
        t.agent_id,
        t.site_code,
        sp.time_zone,
        sp.interval_start_utc,
        sum({{ seconds_between(
            'case when t.piece_start_ts > sp.interval_start_utc then t.piece_start_ts else sp.interval_start_utc end',
            'case when t.piece_end_ts < sp.interval_end_utc then t.piece_end_ts else sp.interval_end_utc end'
        ) }}) as logged_in_s,
        0 as scheduled_paid_s,
        0 as scheduled_shrink_s,
        cast(null as {{ dbt.type_timestamp() }}) as loaded_at,
        0 as schedule_rows
    from (
        select
            *,
            {{ timestamp_series(interval_floor('piece_start_ts'), interval_floor('piece_end_ts'), var('interval_minutes')) }}
                as touched_interval_utc
        from timeline
    ) as t
    inner join spine as sp
        on
            t.time_zone = sp.time_zone
            and t.touched_interval_utc = sp.interval_start_utc
    where
        t.piece_start_ts < sp.interval_end_utc
        and t.piece_end_ts > sp.interval_start_utc
    group by t.agent_id, t.site_code, sp.time_zone, sp.interval_start_utc
),

scheduled as (
    select
        a.agent_id,
        a.site_code,
        sp.time_zone,
        sp.interval_start_utc,
        0 as logged_in_s,
        sum(case when a.activity in ('work', 'leave') then {{ seconds_between(
            'case when a.start_ts > sp.interval_start_utc then a.start_ts else sp.interval_start_utc end',
            'case when a.end_ts < sp.interval_end_utc then a.end_ts else sp.interval_end_utc end'
        ) }} else 0 end) as scheduled_paid_s,
        sum(case when a.activity <> 'work' then {{ seconds_between(
            'case when a.start_ts > sp.interval_start_utc then a.start_ts else sp.interval_start_utc end',
            'case when a.end_ts < sp.interval_end_utc then a.end_ts else sp.interval_end_utc end'
        ) }} else 0 end) as scheduled_shrink_s,
        max(a.loaded_at) as loaded_at,
        count(*) as schedule_rows
    from (
        select
            *,
            {{ timestamp_series(interval_floor('start_ts'), interval_floor('end_ts'), var('interval_minutes')) }}
                as touched_interval_utc
        from located_activities
    ) as a
    inner join spine as sp
        on
            a.time_zone = sp.time_zone
            and a.touched_interval_utc = sp.interval_start_utc
    where
        a.start_ts < sp.interval_end_utc
        and a.end_ts > sp.interval_start_utc
    group by a.agent_id, a.site_code, sp.time_zone, sp.interval_start_utc
),

final as (
    select
        agent_id,
        site_code,
        time_zone,
        interval_start_utc,
        sum(logged_in_s) as logged_in_s,
        sum(scheduled_paid_s) as scheduled_paid_s,
        sum(scheduled_shrink_s) as scheduled_shrink_s,
        -- newest schedule load behind the row (the watermark of the incremental rebuild) and the
        -- number of (schedule row, interval) pieces, which reveals schedule rows deleted since
        max(loaded_at) as loaded_at,
        sum(schedule_rows) as schedule_rows
    from (
        select * from logged_in
        union all
        select * from scheduled
    ) as unioned
    group by agent_id, site_code, time_zone, interval_start_utc
)

select * from final
