-- One row per time zone and site-local day covered by the data, with the day's UTC bounds.
-- Bounds come from converting local midnights, so a DST day is 23 or 25 hours long
-- (46 or 50 intervals of 30 minutes) instead of a fixed 48.
with

segments as (
    select queue_entry_ts as event_ts from {{ ref('stg_telephony__contact_segments') }}
    union all
    select answer_ts as event_ts from {{ ref('stg_telephony__contact_segments') }}
),

states as (
    select start_ts as event_ts from {{ ref('stg_workforce__agent_states') }}
    union all
    select end_ts as event_ts from {{ ref('stg_workforce__agent_states') }}
),

schedules as (
    select start_ts as event_ts from {{ ref('stg_workforce__schedule_activities') }}
    union all
    select end_ts as event_ts from {{ ref('stg_workforce__schedule_activities') }}
),

data_bounds as (
    select
        min(event_ts) as first_event_ts,
        max(event_ts) as last_event_ts
    from (
        select event_ts from segments
        union all
        select event_ts from states
        union all
        select event_ts from schedules
    ) as events
),

time_zones as (
    select distinct time_zone from {{ ref('int_sites_configured') }}
),

local_bounds as (
    select
        tz.time_zone,
        cast({{ utc_to_local('b.first_event_ts', 'tz.time_zone') }} as date) as first_local_date,
        cast({{ utc_to_local('b.last_event_ts', 'tz.time_zone') }} as date) as last_local_date
    from time_zones as tz
    cross join data_bounds as b
    where b.first_event_ts is not null
),

local_days as (
    select
        time_zone,
        {{ date_series('first_local_date', 'last_local_date') }} as local_date
    from local_bounds
),

bounded as (
    select
        time_zone,
        local_date,
        {{ local_to_utc('cast(local_date as ' ~ dbt.type_timestamp() ~ ')', 'time_zone') }} as day_start_utc,
        {{ local_to_utc(
            'cast(' ~ dbt.dateadd('day', 1, 'local_date') ~ ' as ' ~ dbt.type_timestamp() ~ ')', 'time_zone'
        ) }} as day_end_utc
    from local_days
),

final as (
    select
        time_zone,
        local_date,
        day_start_utc,
        day_end_utc,
        cast(
            {{ dbt.datediff('day_start_utc', 'day_end_utc', 'minute') }} / {{ var('interval_minutes') }}
            as {{ dbt.type_int() }}
        ) as intervals_in_day
    from bounded
)

select * from final
