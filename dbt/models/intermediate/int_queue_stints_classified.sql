-- One queue stint (a segment that entered a queue) with its outcome classes, the queue's
-- parameters and its interval. Queue metrics belong to the interval of queue entry.
-- A view: fct_queue_stints materialises it (incrementally).
{{ config(materialized='view') }}

with

segments as (
    select * from {{ ref('stg_telephony__contact_segments') }}
),

queues as (
    select * from {{ ref('int_queues_configured') }}
),

stints as (
    select
        seg.source_system,
        seg.contact_id,
        seg.segment_seq,
        seg.queue_code,
        q.site_code,
        q.time_zone,
        seg.caller_key,
        seg.channel,
        seg.direction,
        seg.agent_id,
        seg.outcome as segment_outcome,
        -- answered then transferred away: answered as far as this queue is concerned
        case when seg.outcome = 'transferred_out' then 'answered' else seg.outcome end as outcome,
        seg.wait_s,
        q.sl_threshold_s,
        q.short_abandon_s,
        seg.queue_entry_ts,
        seg.answer_ts,
        seg.end_ts,
        seg.loaded_at,
        {{ interval_floor('seg.queue_entry_ts') }} as interval_start_utc
    from segments as seg
    inner join queues as q
        on seg.queue_code = q.queue_code
    where seg.outcome <> 'ivr_only'
),

classified as (
    select
        st.source_system,
        st.contact_id,
        st.segment_seq,
        st.queue_code,
        st.site_code,
        st.time_zone,
        st.caller_key,
        st.channel,
        st.direction,
        st.agent_id,
        st.segment_outcome,
        st.outcome,
        st.wait_s,
        st.sl_threshold_s,
        st.short_abandon_s,
        st.queue_entry_ts,
        st.answer_ts,
        st.end_ts,
        st.loaded_at,
        st.interval_start_utc,
        {{ interval_start_local_from_spine('st') }} as interval_start_local,
        coalesce(st.outcome = 'answered' and st.wait_s <= st.sl_threshold_s, false) as answered_within_t,
        coalesce(st.outcome = 'abandoned' and st.wait_s <= st.sl_threshold_s, false) as abandoned_within_t,
        coalesce(st.outcome = 'abandoned' and st.wait_s < st.short_abandon_s, false) as is_short_abandon,
        st.segment_outcome = 'transferred_out' as is_transferred_out
    from stints as st
    {{ join_interval_spine('st') }}
),

final as (
    select
        *,
        cast(interval_start_local as date) as report_date
    from classified
)

select * from final
