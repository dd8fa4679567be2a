-- One queue stint or agent leg per row, from every telephony reader (docs/data-contracts.md).
with

source as (
    select * from {{ source('raw', 'contact_segments') }}
),

renamed as (
    select
        ---------- ids
        cast(source_system as {{ dbt.type_string() }}) as source_system,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(segment_seq as {{ dbt.type_int() }}) as segment_seq,
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(caller_key as {{ dbt.type_string() }}) as caller_key,
        ---------- strings
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(direction as {{ dbt.type_string() }}) as direction,
        cast(queue_code as {{ dbt.type_string() }}) as queue_code,
        cast(outcome as {{ dbt.type_string() }}) as outcome,
        cast(transfer_type as {{ dbt.type_string() }}) as transfer_type,
        cast(transfer_to_queue as {{ dbt.type_string() }}) as transfer_to_queue,
        cast(disposition as {{ dbt.type_string() }}) as disposition,
        ---------- numerics (seconds)
        cast(wait_s as {{ dbt.type_float() }}) as wait_s,
        cast(talk_s as {{ dbt.type_float() }}) as talk_s,
        cast(hold_s as {{ dbt.type_float() }}) as hold_s,
        cast(acw_s as {{ dbt.type_float() }}) as acw_s,
        ---------- booleans
        cast(complaint as {{ dbt.type_boolean() }}) as is_complaint,
        cast(resolved as {{ dbt.type_boolean() }}) as is_agent_resolved,
        ---------- timestamps (UTC)
        cast(queue_entry_ts as {{ dbt.type_timestamp() }}) as queue_entry_ts,
        cast(answer_ts as {{ dbt.type_timestamp() }}) as answer_ts,
        cast(end_ts as {{ dbt.type_timestamp() }}) as end_ts,
        ---------- lineage
        source_file,
        source_line,
        loaded_at
    from source
)

select * from renamed
