-- One post-contact survey response per contact.
with

source as (
    select * from {{ source('raw', 'customer_surveys') }}
),

renamed as (
    select
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(csat as {{ dbt.type_int() }}) as csat,
        cast(nps as {{ dbt.type_int() }}) as nps,
        cast(resolved as {{ dbt.type_boolean() }}) as is_survey_resolved,
        cast(comment as {{ dbt.type_string() }}) as comment,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        source_file,
        source_line,
        loaded_at
    from source
)

select * from renamed
