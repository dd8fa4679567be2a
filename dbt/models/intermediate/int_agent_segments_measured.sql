-- One answered agent leg with its handle components. Handle time belongs to the interval in
-- which the leg was answered. A source without ACW (plain Asterisk) keeps acw_s null and flags it.
-- A view: fct_agent_segments materialises it (incrementally).
{{ config(materialized='view') }}

with

segments as (
    select * from {{ ref('stg_telephony__contact_segments') }}
),

queues as (
    select * from {{ ref('int_queues_configured') }}
),

legs as (
    select
        seg.source_system,
        seg.contact_id,
        seg.segment_seq,
        seg.agent_id,
        seg.queue_code,
        coalesce(q.site_code, '{{ var("default_site_code") }}') as site_code,
        coalesce(q.time_zone, '{{ var("default_time_zone") }}') as time_zone,
        seg.channel,
        seg.direction,
        seg.caller_key,
        seg.transfer_type,
        seg.disposition,
        coalesce(seg.talk_s, 0) as talk_s,
        coalesce(seg.hold_s, 0) as hold_s,
        seg.acw_s,
        seg.acw_s is null as acw_missing,
        coalesce(seg.is_complaint, false) as is_complaint,
        seg.is_agent_resolved,
        seg.answer_ts,
        seg.end_ts,
        seg.loaded_at,
        {{ interval_floor('seg.answer_ts') }} as interval_start_utc
    from segments as seg
    left join queues as q
        on seg.queue_code = q.queue_code
    where seg.answer_ts is not null and seg.agent_id is not null
),

measured as (
    select
        lg.source_system,
        lg.contact_id,
        lg.segment_seq,
        lg.agent_id,
        lg.queue_code,
        lg.site_code,
        lg.time_zone,
        lg.channel,
        lg.direction,
        lg.caller_key,
        lg.transfer_type,
        lg.disposition,
        lg.talk_s,
        lg.hold_s,
        lg.acw_s,
        lg.acw_missing,
        -- handle = talk + hold + ACW; a missing ACW adds nothing here and is counted by acw_missing
        lg.talk_s + lg.hold_s + coalesce(lg.acw_s, 0) as handle_s,
        lg.hold_s > 0 as has_hold,
        lg.is_complaint,
        lg.is_agent_resolved,
        lg.answer_ts,
        lg.end_ts,
        lg.loaded_at,
        lg.interval_start_utc,
        {{ interval_start_local_from_spine('lg') }} as interval_start_local
    from legs as lg
    {{ join_interval_spine('lg') }}
),

final as (
    select
        *,
        cast(interval_start_local as date) as report_date
    from measured
)

select * from final
