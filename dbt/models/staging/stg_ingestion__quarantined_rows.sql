-- One input row rejected at ingestion, with its reason (the record itself stays in raw).
with

source as (
    select * from {{ source('raw', 'quarantine') }}
),

renamed as (
    select
        cast(source as {{ dbt.type_string() }}) as source_name,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_line as {{ dbt.type_bigint() }}) as source_line,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(quarantined_at as {{ dbt.type_timestamp() }}) as quarantined_at
    from source
)

select * from renamed
