-- Rows rejected at ingestion per source, reason and day they were quarantined.
select
    source_name as source,
    reason,
    cast(quarantined_at as date) as quarantined_date,
    count(*) as rows
from {{ ref('stg_ingestion__quarantined_rows') }}
group by source_name, reason, cast(quarantined_at as date)
