-- One agent as of one roster export; consecutive exports carry the team history.
with

source as (
    select * from {{ source('raw', 'roster') }}
),

renamed as (
    select
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(agent_name as {{ dbt.type_string() }}) as agent_name,
        cast(team as {{ dbt.type_string() }}) as team,
        cast(supervisor as {{ dbt.type_string() }}) as supervisor,
        cast(site_code as {{ dbt.type_string() }}) as site_code,
        cast(skills as {{ dbt.type_string() }}) as skills,
        cast(employment_type as {{ dbt.type_string() }}) as employment_type,
        cast(hire_date as date) as hire_date,
        cast(end_date as date) as end_date,
        cast(as_of_date as date) as as_of_date,
        source_file,
        source_line,
        loaded_at
    from source
)

select * from renamed
