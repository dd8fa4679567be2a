-- One queue stint: the grain of every queue metric (offered, SL, ASA, abandons).
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

stints as (
    select * from {{ ref('int_queue_stints_classified') }}
    {% if is_incremental() %}
        where
            {{ within_touched_dates('queue_entry_ts', ref('int_queue_stints_classified')) }}
            and report_date in ({{ touched_report_dates(ref('int_queue_stints_classified')) }})
    {% endif %}
),

final as (
    select
        source_system,
        contact_id,
        segment_seq,
        queue_code,
        site_code,
        report_date,
        interval_start_local,
        interval_start_utc,
        channel,
        direction,
        agent_id,
        outcome,
        segment_outcome,
        is_short_abandon,
        is_transferred_out,
        wait_s,
        answered_within_t,
        abandoned_within_t,
        sl_threshold_s,
        short_abandon_s,
        caller_key,
        queue_entry_ts,
        answer_ts,
        end_ts,
        loaded_at
    from stints
)

select * from final
