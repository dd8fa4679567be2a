-- Agent state timeline in site-local days: one row per state episode and local day it touches
-- (an episode over midnight is split). Open episodes (no end yet) end at the latest state event.
-- An episode is placed at the site (time zone) of the roster version valid on the UTC date of its
-- start, so a roster export moving an agent changes only the episodes from the new version on.
-- Incremental: a run rebuilds the report dates of the episodes that changed since the last run
-- (macros/agent_incremental.sql): those of newly loaded and open states and of episodes a roster
-- change placed elsewhere when raw only grew, else those of every episode that differs from the
-- table's. The dates are computed before the run and logged (agent_chain_build_log) for the models
-- downstream. Only agents whose site versions changed since the last run can have moved episodes
-- (agent_chain_site_versions, written after each run), so only theirs are compared.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='report_date',
        on_schema_change='sync_all_columns',
        post_hook=["{{ record_agent_build() }}", "{{ drop_site_versions() }}", "{{ record_site_versions() }}"]
    )
}}

{% set base_ctes %}
states as {{ not_materialized() }} (
    select * from {{ ref('stg_workforce__agent_states') }}
),

agents as (
    select * from {{ ref('int_agents_historized') }}
),

sites as (
    select * from {{ ref('int_sites_configured') }}
),

all_days as (
    select * from {{ ref('int_local_days_bounded') }}
),

data_end as (
    select max(coalesce(end_ts, start_ts)) as data_end_ts from states
),

episodes as {{ not_materialized() }} (
    select
        st.agent_id,
        st.state,
        st.reason,
        st.start_ts,
        coalesce(st.end_ts, d.data_end_ts) as end_ts,
        st.end_ts is null as is_open,
        {{ seconds_between('st.start_ts', 'coalesce(st.end_ts, d.data_end_ts)') }} as episode_s,
        coalesce(a.site_code, '{{ var("default_site_code") }}') as site_code,
        coalesce(s.time_zone, '{{ var("default_time_zone") }}') as time_zone,
        st.loaded_at
    from states as st
    cross join data_end as d
    left join agents as a
        on
            st.agent_id = a.agent_id
            and {{ roster_version_valid_on('a', 'cast(st.start_ts as date)') }}
    left join sites as s
        on coalesce(a.site_code, '{{ var("default_site_code") }}') = s.site_code
)
{% endset %}

{%- set incremental = agent_chain_is_incremental() -%}

{% if incremental %}
    {%- set only_appended = agent_states_only_appended(base_ctes, 'episodes', 'all_days') -%}
    -- dates to rebuild: {{ 'appended states, open episodes, moved episodes' if only_appended else 'compared every episode' }}
{% endif %}
with

{{ base_ctes }},

{% if incremental %}
    dates_to_rebuild as (
        {{ log_rebuilt_dates(
            base_ctes ~ ', moved_episodes as (' ~ agent_states_moved_episodes() ~ ')',
            agent_state_appended_dates('episodes', 'all_days') if only_appended
            else agent_state_dates_to_rebuild('episodes', 'all_days')
        ) }}
    ),
{% endif %}

days as (
    select * from all_days
    {% if incremental %}
        where local_date in (select dr.report_date from dates_to_rebuild as dr)
    {% endif %}
),

split_by_day as (
    select
        e.agent_id,
        e.site_code,
        e.time_zone,
        e.state,
        e.reason,
        e.start_ts,
        e.end_ts,
        e.is_open,
        e.episode_s,
        e.loaded_at,
        days.local_date as report_date,
        case when e.start_ts > days.day_start_utc then e.start_ts else days.day_start_utc end as piece_start_ts,
        case when e.end_ts < days.day_end_utc then e.end_ts else days.day_end_utc end as piece_end_ts,
        e.start_ts >= days.day_start_utc and e.start_ts < days.day_end_utc as is_episode_start
    from episodes as e
    inner join days
        on
            e.time_zone = days.time_zone
            and e.start_ts < days.day_end_utc
            and e.end_ts > days.day_start_utc
),

final as (
    select
        *,
        {{ seconds_between('piece_start_ts', 'piece_end_ts') }} as piece_s
    from split_by_day
)

select * from final
