-- Complaint contacts per reporting date, queue, site and reason (the agent segment's disposition).
-- A contact counts once per reason, at its first complaint segment with that reason, so a sum
-- over dates, queues and sites is the number of distinct complaining contacts per reason; a
-- contact that complains in two queues with different reasons counts once under each reason.
-- Incremental: a run rebuilds the report dates of segments loaded since the previous run and every
-- date of the complaints of their contacts (a late first segment moves where the contact counts).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='report_date',
        on_schema_change='sync_all_columns'
    )
}}

with

complaint_segments as (
    select * from {{ ref('fct_agent_segments') }}
    where complaint
),

{% if is_incremental_with(['loaded_at']) %}
    -- segments (any, not only complaints: a reloaded segment may have stopped being one) loaded
    -- since the previous run
    touched_segments as (
        select
            source_system,
            contact_id,
            report_date
        from {{ ref('fct_agent_segments') }}
        where loaded_at > (
            select coalesce(max(prev.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
            from {{ this }} as prev
        )
    ),

    dates_to_rebuild as (
        select ts.report_date from touched_segments as ts
        union
        select cs.report_date
        from complaint_segments as cs
        inner join touched_segments as ts
            on cs.source_system = ts.source_system and cs.contact_id = ts.contact_id
    ),

    -- every complaint segment of every contact with one on a rebuilt date (its whole history,
    -- so "first segment with the reason" is decided over all of it)
    contacts_to_rebuild as (
        select distinct
            cs.source_system,
            cs.contact_id
        from complaint_segments as cs
        inner join dates_to_rebuild as d
            on cs.report_date = d.report_date
    ),

    segments as (
        select cs.*
        from complaint_segments as cs
        inner join contacts_to_rebuild as c
            on cs.source_system = c.source_system and cs.contact_id = c.contact_id
    ),
{% else %}
    segments as (
        select * from complaint_segments
    ),
{% endif %}

ranked as (
    select
        report_date,
        queue_code,
        site_code,
        disposition,
        loaded_at,
        row_number() over (
            partition by source_system, contact_id, disposition
            order by segment_seq
        ) as reason_seq
    from segments
),

final as (
    select
        report_date,
        queue_code,
        site_code,
        disposition,
        count(*) as complaint_contacts,
        -- newest raw load behind the row: the watermark of the incremental rebuild
        max(loaded_at) as loaded_at
    from ranked
    where
        reason_seq = 1
        {%- if is_incremental_with(['loaded_at']) %}
            and report_date in (select d.report_date from dates_to_rebuild as d)
        {%- endif %}
    group by report_date, queue_code, site_code, disposition
)

select * from final
