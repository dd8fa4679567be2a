-- One landing file per row with its row accounting (read = loaded + quarantined + duplicate).
with

source as (
    select * from {{ source('raw', 'file_manifest') }}
),

renamed as (
    select
        cast(file_path as {{ dbt.type_string() }}) as file_path,
        cast(sha256 as {{ dbt.type_string() }}) as sha256,
        cast(source as {{ dbt.type_string() }}) as source_name,
        cast(format as {{ dbt.type_string() }}) as file_format,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(message as {{ dbt.type_string() }}) as message,
        cast(rows_read as {{ dbt.type_bigint() }}) as rows_read,
        cast(rows_loaded as {{ dbt.type_bigint() }}) as rows_loaded,
        cast(rows_quarantined as {{ dbt.type_bigint() }}) as rows_quarantined,
        cast(rows_duplicate as {{ dbt.type_bigint() }}) as rows_duplicate,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(finished_at as {{ dbt.type_timestamp() }}) as finished_at
    from source
)

select * from renamed
