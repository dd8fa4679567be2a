-- One answered agent leg: the grain of handle-time metrics (handled, talk, hold, ACW, AHT).
with

legs as (
    select * from {{ ref('int_agent_segments_measured') }}
),

final as (
    select
        source_system,
        contact_id,
        segment_seq,
        agent_id,
        queue_code,
        site_code,
        report_date,
        interval_start_local,
        interval_start_utc,
        channel,
        direction,
        transfer_type,
        disposition,
        talk_s,
        hold_s,
        acw_s,
        acw_missing,
        handle_s,
        has_hold,
        is_complaint as complaint,
        is_agent_resolved as agent_resolved,
        answer_ts,
        end_ts
    from legs
)

select * from final
