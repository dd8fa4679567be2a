-- One contact (customer attempt) assembled from its segments: queue path, outcome, waits and
-- handle components summed over its legs.
-- Incremental: a run reassembles every contact with a segment loaded since the previous run (all of
-- its segments, so a late leg updates its contact), delete+insert by contact key.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['source_system', 'contact_id'],
        on_schema_change='sync_all_columns'
    )
}}

with

segments as {{ not_materialized() }} (
    select * from {{ ref('stg_telephony__contact_segments') }}
),
{% if is_incremental_with(['loaded_at']) %}

    new_segments as (
        select
            source_system,
            contact_id,
            queue_entry_ts
        from segments
        where loaded_at > (
            select coalesce(max(prev.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
            from {{ this }} as prev
        )
    ),

    touched_contacts as (
        select distinct
            source_system,
            contact_id
        from new_segments
    ),

    touched_segments as (
        select seg.*
        from segments as seg
        inner join touched_contacts as tc
            on seg.source_system = tc.source_system and seg.contact_id = tc.contact_id
        -- a contact's legs lie within a day of each other: a cheap range prefilter before the join
        where
            seg.queue_entry_ts >= (
                select {{ dbt.dateadd('day', -1, 'min(ns.queue_entry_ts)') }} from new_segments as ns
            )
            and seg.queue_entry_ts <= (
                select {{ dbt.dateadd('day', 1, 'max(ns.queue_entry_ts)') }} from new_segments as ns
            )
    ),
{% endif %}

queues as (
    select * from {{ ref('int_queues_configured') }}
),

{%- if is_incremental_with(['loaded_at']) %}
    {%- set assembled_segments = 'touched_segments' %}
{%- else %}
    {%- set assembled_segments = 'segments' %}
{%- endif %}

-- Most contacts have one segment: only the others go through the (costly) per-contact aggregate;
-- a one-segment contact's row is its segment's, computed as the aggregate would compute it.
multi_segment_contacts as (
    select
        source_system,
        contact_id
    from {{ assembled_segments }}
    group by source_system, contact_id
    having count(*) > 1
),

per_contact as (
    select
        seg.source_system,
        seg.contact_id,
        min_by(seg.channel, seg.segment_seq) as channel,
        min_by(seg.direction, seg.segment_seq) as direction,
        max(seg.caller_key) as caller_key,
        min_by(seg.queue_code, case when seg.queue_code is not null then seg.segment_seq end) as first_queue_code,
        max_by(seg.queue_code, case when seg.queue_code is not null then seg.segment_seq end) as last_queue_code,
        max_by(seg.outcome, case when seg.queue_code is not null then seg.segment_seq end) as last_queue_outcome,
        max_by(
            seg.agent_id, case when seg.answer_ts is not null and seg.agent_id is not null then seg.segment_seq end
        ) as last_agent_id,
        count(*) as segments,
        sum(case when seg.queue_code is not null and seg.outcome <> 'ivr_only' then 1 else 0 end) as queue_stints,
        sum(case when seg.answer_ts is not null and seg.agent_id is not null then 1 else 0 end) as agent_segments,
        sum(case when seg.queue_code is not null then seg.wait_s end) as wait_s,
        sum(case when seg.answer_ts is not null and seg.agent_id is not null then coalesce(seg.talk_s, 0) end)
            as talk_s,
        sum(case when seg.answer_ts is not null and seg.agent_id is not null then coalesce(seg.hold_s, 0) end)
            as hold_s,
        sum(case when seg.answer_ts is not null and seg.agent_id is not null then seg.acw_s end) as acw_known_s,
        sum(case when seg.answer_ts is not null and seg.agent_id is not null and seg.acw_s is null then 1 else 0 end)
            as acw_missing_segments,
        max(case when seg.is_complaint then 1 else 0 end) as complaint_flag,
        max(case when seg.is_agent_resolved then 1 when not seg.is_agent_resolved then 0 end)
            as agent_resolved_flag,
        min(seg.queue_entry_ts) as contact_start_ts,
        max(coalesce(seg.end_ts, seg.answer_ts, seg.queue_entry_ts)) as contact_end_ts,
        -- newest raw load behind the contact: the watermark of the incremental models downstream
        max(seg.loaded_at) as loaded_at
    from {{ assembled_segments }} as seg
    inner join multi_segment_contacts as msc
        on
            seg.source_system is not distinct from msc.source_system
            and seg.contact_id is not distinct from msc.contact_id
    group by seg.source_system, seg.contact_id

    union all

    -- min_by / max_by skip a row whose ordering value is null: hence the segment_seq checks
    select
        seg.source_system,
        seg.contact_id,
        case when seg.segment_seq is not null then seg.channel end as channel,
        case when seg.segment_seq is not null then seg.direction end as direction,
        seg.caller_key,
        case when seg.segment_seq is not null then seg.queue_code end as first_queue_code,
        case when seg.segment_seq is not null then seg.queue_code end as last_queue_code,
        case when seg.queue_code is not null and seg.segment_seq is not null then seg.outcome end
            as last_queue_outcome,
        case when seg.answer_ts is not null and seg.segment_seq is not null then seg.agent_id end as last_agent_id,
        1 as segments,
        case when seg.queue_code is not null and seg.outcome <> 'ivr_only' then 1 else 0 end as queue_stints,
        case when seg.answer_ts is not null and seg.agent_id is not null then 1 else 0 end as agent_segments,
        case when seg.queue_code is not null then seg.wait_s end as wait_s,
        case when seg.answer_ts is not null and seg.agent_id is not null then coalesce(seg.talk_s, 0) end as talk_s,
        case when seg.answer_ts is not null and seg.agent_id is not null then coalesce(seg.hold_s, 0) end as hold_s,
        case when seg.answer_ts is not null and seg.agent_id is not null then seg.acw_s end as acw_known_s,
        case when seg.answer_ts is not null and seg.agent_id is not null and seg.acw_s is null then 1 else 0 end
            as acw_missing_segments,
        case when seg.is_complaint then 1 else 0 end as complaint_flag,
        case when seg.is_agent_resolved then 1 when not seg.is_agent_resolved then 0 end as agent_resolved_flag,
        seg.queue_entry_ts as contact_start_ts,
        coalesce(seg.end_ts, seg.answer_ts, seg.queue_entry_ts) as contact_end_ts,
        seg.loaded_at
    from {{ assembled_segments }} as seg
    where not exists (
        select 1
        from multi_segment_contacts as msc
        where
            seg.source_system is not distinct from msc.source_system
            and seg.contact_id is not distinct from msc.contact_id
    )
),

located as (
    select
        c.*,
        coalesce(q.site_code, '{{ var("default_site_code") }}') as site_code,
        coalesce(q.time_zone, '{{ var("default_time_zone") }}') as time_zone,
        {{ interval_floor('c.contact_start_ts') }} as interval_start_utc
    from per_contact as c
    left join queues as q
        on c.first_queue_code = q.queue_code
),

labelled as (
    select
        lc.source_system,
        lc.contact_id,
        lc.channel,
        lc.direction,
        lc.caller_key,
        lc.first_queue_code,
        lc.last_queue_code,
        lc.site_code,
        lc.time_zone,
        lc.last_agent_id,
        case
            when lc.agent_segments > 0 then 'answered'
            when lc.queue_stints > 0 then lc.last_queue_outcome
            else 'ivr_only'
        end as outcome,
        lc.segments,
        lc.queue_stints,
        lc.agent_segments,
        lc.wait_s,
        lc.talk_s,
        lc.hold_s,
        -- the contact's ACW is unknown as soon as one of its legs has none
        case when lc.acw_missing_segments = 0 then lc.acw_known_s end as acw_s,
        lc.acw_missing_segments > 0 as acw_missing,
        coalesce(lc.talk_s, 0) + coalesce(lc.hold_s, 0) + coalesce(lc.acw_known_s, 0) as handle_s,
        lc.agent_segments > 0 as is_handled,
        lc.agent_segments > 1 as is_transferred,
        lc.complaint_flag = 1 as is_complaint,
        case lc.agent_resolved_flag when 1 then true when 0 then false end as agent_resolved,
        lc.contact_start_ts,
        lc.contact_end_ts,
        lc.loaded_at,
        lc.interval_start_utc,
        {{ interval_start_local_from_spine('lc') }} as interval_start_local
    from located as lc
    {{ join_interval_spine('lc') }}
),

final as (
    select
        *,
        cast(interval_start_local as date) as report_date
    from labelled
)

select * from final
