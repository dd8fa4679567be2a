-- One agent state interval per row; logged_in spans a session, the other states partition it.
with

source as (
    select * from {{ source('raw', 'agent_states') }}
),

renamed as (
    select
        cast(source_system as {{ dbt.type_string() }}) as source_system,
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(state as {{ dbt.type_string() }}) as state,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(start_ts as {{ dbt.type_timestamp() }}) as start_ts,
        cast(end_ts as {{ dbt.type_timestamp() }}) as end_ts,
        source_file,
        source_line,
        loaded_at
    from source
)

select * from renamed
