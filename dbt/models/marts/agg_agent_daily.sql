-- Agent x site-local reporting date: handled work (from telephony), state time (from agent
-- states), schedule compliance, and the team the agent belonged to on that day.
-- Occupancy and utilization come from the state timeline alone so numerator and denominator
-- share one clock: occupancy = (on_contact + acw) / (on_contact + acw + available),
-- utilization = (on_contact + acw) / logged_in.
-- Incremental (delete+insert by report_date): a run rebuilds the dates of agent legs loaded since
-- the table's newest loaded_at, the dates the timeline and schedule-vs-actual rebuilt since its last
-- build (agent_chain_build_log), and the dates whose rows carry roster attributes other than the
-- version now valid that day (macros/agent_incremental.sql); the dates are logged for models downstream.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='report_date',
        on_schema_change='sync_all_columns',
        post_hook=["{{ record_agent_build() }}"]
    )
}}

{% set base_ctes %}
all_legs as {{ not_materialized() }} (
    select * from {{ ref('fct_agent_segments') }}
),

all_schedule_days as {{ not_materialized() }} (
    select * from {{ ref('int_schedules_compared_to_actuals') }}
),

agents as (
    select * from {{ ref('int_agents_historized') }}
)
{% endset %}

{%- set incremental = agent_chain_is_incremental(['int_agent_states_timeline', 'int_schedules_compared_to_actuals']) -%}

with

{{ base_ctes }},

{% if incremental %}
    dates_to_rebuild as (
        {{ log_rebuilt_dates(base_ctes, agent_daily_dates_to_rebuild('all_legs', 'agents')) }}
    ),

    legs as (
        select * from all_legs
        where report_date in (select dr.report_date from dates_to_rebuild as dr)
    ),

    timeline as (
        select * from {{ ref('int_agent_states_timeline') }}
        where report_date in (select dr.report_date from dates_to_rebuild as dr)
    ),

    schedule_days as (
        select * from all_schedule_days
        where schedule_date in (select dr.report_date from dates_to_rebuild as dr)
    ),
{% else %}
    legs as (
        select * from all_legs
    ),

    timeline as (
        select * from {{ ref('int_agent_states_timeline') }}
    ),

    schedule_days as (
        select * from all_schedule_days
    ),
{% endif %}

leg_totals as (
    select
        agent_id,
        report_date,
        count(*) as handled,
        sum(talk_s) as talk_s,
        sum(hold_s) as hold_s,
        sum(acw_s) as acw_s,
        sum(case when acw_missing then 1 else 0 end) as acw_missing,
        sum(handle_s) as handle_s,
        sum(case when complaint then 1 else 0 end) as complaints,
        max(loaded_at) as loaded_at
    from legs
    group by agent_id, report_date
),

state_totals as (
    select
        agent_id,
        report_date,
        sum(case when state = 'logged_in' then piece_s else 0 end) as logged_in_s,
        sum(case when state = 'available' then piece_s else 0 end) as available_s,
        sum(case when state = 'on_contact' then piece_s else 0 end) as on_contact_s,
        sum(case when state = 'acw' then piece_s else 0 end) as acw_state_s,
        sum(case when state = 'not_ready' then piece_s else 0 end) as not_ready_s,
        sum(case when state = 'not_ready' and reason = 'break' then piece_s else 0 end) as not_ready_break_s,
        sum(case when state = 'not_ready' and reason = 'lunch' then piece_s else 0 end) as not_ready_lunch_s,
        sum(case when state = 'not_ready' and reason = 'training' then piece_s else 0 end) as not_ready_training_s,
        sum(case when state = 'not_ready' and reason = 'meeting' then piece_s else 0 end) as not_ready_meeting_s,
        sum(
            case
                when state = 'not_ready' and coalesce(reason, '') not in ('break', 'lunch', 'training', 'meeting')
                    then piece_s
                else 0
            end
        ) as not_ready_other_s,
        sum(
            case
                when state = 'not_ready' and is_episode_start and episode_s > {{ var('long_not_ready_s') }} then 1
                else 0
            end
        ) as long_not_ready_count,
        max(loaded_at) as loaded_at
    from timeline
    group by agent_id, report_date
),

agent_days as (
    select
        agent_id,
        report_date
    from leg_totals
    union
    select
        agent_id,
        report_date
    from state_totals
    union
    select
        agent_id,
        schedule_date as report_date
    from schedule_days
),

joined as (
    select
        d.agent_id,
        d.report_date,
        coalesce(l.handled, 0) as handled,
        coalesce(l.talk_s, 0) as talk_s,
        coalesce(l.hold_s, 0) as hold_s,
        coalesce(l.acw_s, 0) as acw_s,
        coalesce(l.acw_missing, 0) as acw_missing,
        coalesce(l.handle_s, 0) as handle_s,
        coalesce(l.complaints, 0) as complaints,
        coalesce(s.logged_in_s, 0) as logged_in_s,
        coalesce(s.available_s, 0) as available_s,
        coalesce(s.on_contact_s, 0) as on_contact_s,
        coalesce(s.acw_state_s, 0) as acw_state_s,
        coalesce(s.not_ready_s, 0) as not_ready_s,
        coalesce(s.not_ready_break_s, 0) as not_ready_break_s,
        coalesce(s.not_ready_lunch_s, 0) as not_ready_lunch_s,
        coalesce(s.not_ready_training_s, 0) as not_ready_training_s,
        coalesce(s.not_ready_meeting_s, 0) as not_ready_meeting_s,
        coalesce(s.not_ready_other_s, 0) as not_ready_other_s,
        coalesce(s.long_not_ready_count, 0) as long_not_ready_count,
        coalesce(sd.scheduled_s, 0) as scheduled_s,
        coalesce(sd.adherent_s, 0) as adherent_s,
        coalesce(sd.is_late_login, false) as late_login,
        coalesce(sd.is_early_logout, false) as early_logout,
        coalesce(sd.is_absent, false) as absent,
        -- greatest skips nulls (DuckDB and Spark)
        greatest(l.loaded_at, s.loaded_at, sd.loaded_at) as loaded_at
    from agent_days as d
    left join leg_totals as l
        on d.agent_id = l.agent_id and d.report_date = l.report_date
    left join state_totals as s
        on d.agent_id = s.agent_id and d.report_date = s.report_date
    left join schedule_days as sd
        on d.agent_id = sd.agent_id and d.report_date = sd.schedule_date
),

final as (
    select
        j.agent_id,
        a.agent_name,
        a.team,
        a.supervisor,
        coalesce(a.site_code, '{{ var("default_site_code") }}') as site_code,
        j.report_date,
        j.handled,
        j.talk_s,
        j.hold_s,
        j.acw_s,
        j.acw_missing,
        j.handle_s,
        j.logged_in_s,
        j.available_s,
        j.on_contact_s,
        j.acw_state_s,
        j.not_ready_s,
        j.not_ready_break_s,
        j.not_ready_lunch_s,
        j.not_ready_training_s,
        j.not_ready_meeting_s,
        j.not_ready_other_s,
        j.on_contact_s + j.acw_state_s as occupancy_num,
        j.on_contact_s + j.acw_state_s + j.available_s as occupancy_den,
        j.on_contact_s + j.acw_state_s as utilization_num,
        j.logged_in_s as utilization_den,
        j.adherent_s as adherence_num,
        j.scheduled_s as adherence_den,
        case when j.logged_in_s < j.scheduled_s then j.logged_in_s else j.scheduled_s end as conformance_num,
        j.scheduled_s as conformance_den,
        j.scheduled_s,
        j.late_login,
        j.early_logout,
        j.absent,
        j.long_not_ready_count,
        j.complaints,
        -- newest raw load behind the row: the watermark of the incremental rebuild
        j.loaded_at
    from joined as j
    left join agents as a
        on
            j.agent_id = a.agent_id
            and j.report_date >= a.valid_from
            and j.report_date < a.valid_to
)

select * from final
