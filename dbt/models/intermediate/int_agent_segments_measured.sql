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

final as (
    select
        source_system,
        contact_id,
        segment_seq,
        agent_id,
        queue_code,
        site_code,
        time_zone,
        channel,
        direction,
        caller_key,
        transfer_type,
        disposition,
        talk_s,
        hold_s,
        acw_s,
        acw_missing,
        -- handle = talk + hold + ACW; a missing ACW adds nothing here and is counted by acw_missing
        talk_s + hold_s + coalesce(acw_s, 0) as handle_s,
        hold_s > 0 as has_hold,
        is_complaint,
        is_agent_resolved,
        answer_ts,
        end_ts,
        loaded_at,
        interval_start_utc,
        cast({{ utc_to_local('interval_start_utc', 'time_zone') }} as {{ dbt.type_timestamp() }})
            as interval_start_local,
        cast({{ utc_to_local('answer_ts', 'time_zone') }} as date) as report_date
    from legs
)

select * from final
