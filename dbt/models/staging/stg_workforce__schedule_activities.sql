-- One scheduled activity; a shift is a `work` row and its breaks are separate rows inside it.
with

source as (
    select * from {{ source('raw', 'schedules') }}
),

renamed as (
    select
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(schedule_date as date) as schedule_date,
        cast(shift_code as {{ dbt.type_string() }}) as shift_code,
        cast(activity as {{ dbt.type_string() }}) as activity,
        cast(start_ts as {{ dbt.type_timestamp() }}) as start_ts,
        cast(end_ts as {{ dbt.type_timestamp() }}) as end_ts,
        source_file,
        source_line,
        loaded_at
    from source
)

select * from renamed
