-- Per source: when it was last loaded, how many files and rows, and the latest event it holds
-- (telephony and agent states only; other sources have no event clock).
with

manifests as (
    select * from {{ ref('stg_ingestion__file_manifests') }}
    where status = 'loaded'
),

loads as (
    select
        source_name as source,
        max(finished_at) as last_loaded_at,
        count(*) as files,
        sum(rows_loaded) as rows_loaded
    from manifests
    group by source_name
),

event_clocks as (
    select
        case source_system when 'canonical' then 'contact_segments' else source_system end as source,
        max(queue_entry_ts) as last_event_ts
    from {{ ref('stg_telephony__contact_segments') }}
    group by case source_system when 'canonical' then 'contact_segments' else source_system end
    union all
    select
        'agent_states' as source,
        max(start_ts) as last_event_ts
    from {{ ref('stg_workforce__agent_states') }}
)

select
    l.source,
    l.last_loaded_at,
    e.last_event_ts,
    l.files,
    l.rows_loaded
from loads as l
left join event_clocks as e
    on l.source = e.source
