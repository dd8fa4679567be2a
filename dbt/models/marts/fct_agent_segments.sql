-- One answered agent leg: the grain of handle-time metrics (handled, talk, hold, ACW, AHT).
-- Incremental: a run rebuilds the report dates that received new raw rows (macros/incremental.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='report_date',
        on_schema_change='sync_all_columns'
    )
}}

with

legs as (
    select * from {{ ref('int_agent_segments_measured') }}
    {% if is_incremental() %}
        where
            {{ within_touched_dates('answer_ts', ref('int_agent_segments_measured')) }}
            and report_date in ({{ touched_report_dates(ref('int_agent_segments_measured')) }})
    {% endif %}
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
        end_ts,
        loaded_at
    from legs
)

select * from final
