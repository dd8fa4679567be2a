-- One contact (customer attempt): queue path, outcome, wait, handle components, repeat / FCR
-- status and the survey answers given for it.
with

contacts as (
    select * from {{ ref('int_contacts_repeat_flagged') }}
),

surveys as (
    select * from {{ ref('stg_surveys__customer_responses') }}
),

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
        c.next_contact_ts,
        c.fcr_window_days,
        c.fcr_status,
        s.csat,
        s.nps,
        s.is_survey_resolved as survey_resolved,
        s.responded_at as survey_responded_at,
        s.contact_id is not null as has_survey,
        c.agent_resolved,
        c.contact_start_ts,
        c.contact_end_ts
    from contacts as c
    left join surveys as s
        on c.contact_id = s.contact_id
)

select * from final
