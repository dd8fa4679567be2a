-- One contact (customer attempt): queue path, outcome, wait, handle components, repeat / FCR
-- status and the survey answers given for it.
-- Incremental: a run replaces the contacts whose FCR columns it can change (the trailing FCR window,
-- macros/fcr_incremental.sql) and those with a survey answer loaded since the previous run.
-- depends_on: {{ ref('int_contacts_assembled') }}, {{ ref('int_queues_configured') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['source_system', 'contact_id'],
        on_schema_change='sync_all_columns'
    )
}}

with

surveys as (
    select * from {{ ref('stg_surveys__customer_responses') }}
),

{% if is_incremental_with(['loaded_at', 'repeat_contact_ts', 'written_at']) %}
    -- the contacts table is read where it is needed, not as one common table: referenced twice, a
    -- common table would be materialised whole (every column of every contact) on each new day
    changed_keys as (
        {{ fcr_recompute_keys(ref('int_contacts_assembled'), ref('int_queues_configured')) }}
        union
        select
            ac.source_system,
            ac.contact_id
        from {{ ref('int_contacts_repeat_flagged') }} as ac
        inner join {{ ref('stg_surveys__customer_responses') }} as s
            on ac.contact_id = s.contact_id
        where s.loaded_at > (
            select coalesce(max(prev.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
            from {{ this }} as prev
        )
    ),

    contacts as (
        select ac.*
        from {{ ref('int_contacts_repeat_flagged') }} as ac
        inner join changed_keys as ck
            on ac.source_system = ck.source_system and ac.contact_id = ck.contact_id
    ),
{% else %}
    contacts as (
        select * from {{ ref('int_contacts_repeat_flagged') }}
    ),
{% endif %}

final as (
    select
        c.contact_id,
        c.source_system,
        c.channel,
        c.direction,
        c.first_queue_code,
        c.last_queue_code,
        c.site_code,
        c.report_date,
        c.interval_start_local,
        c.interval_start_utc,
        c.caller_key,
        c.last_agent_id,
        c.outcome,
        c.wait_s,
        c.talk_s,
        c.hold_s,
        c.acw_s,
        c.acw_missing,
        c.handle_s,
        c.queue_stints,
        c.agent_segments,
        c.is_handled,
        c.is_transferred as transferred,
        c.is_complaint as complaint,
        c.is_repeat_within_window,
        c.repeat_contact_ts,
        c.fcr_window_days,
        c.fcr_status,
        s.csat,
        s.nps,
        s.is_survey_resolved as survey_resolved,
        s.responded_at as survey_responded_at,
        s.contact_id is not null as has_survey,
        c.agent_resolved,
        c.contact_start_ts,
        c.contact_end_ts,
        -- newest raw load behind the row (contact or survey): the watermark of incremental runs
        case when s.loaded_at > c.loaded_at then s.loaded_at else c.loaded_at end as loaded_at,
        -- the run that (re)wrote the row: the daily contact aggregates rebuild the dates it touched
        {{ invocation_started_ts() }} as written_at
    from contacts as c
    left join surveys as s
        on c.contact_id = s.contact_id
)

select * from final
