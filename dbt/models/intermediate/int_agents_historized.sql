-- Agent team history (SCD2) from consecutive roster exports: a new version starts whenever an
-- export changes the agent's name, team, supervisor, site, skills or employment type. Rebuilt
-- deterministically from raw.roster (which keeps every as_of_date), unlike a run-time snapshot.
-- The first version is also valid before the first export so older facts still find a team.
with

exports as (
    select * from {{ ref('stg_workforce__roster_exports') }}
),

fingerprinted as (
    select
        *,
        {{ dbt.concat([
            "coalesce(agent_name, '')", "'|'", "coalesce(team, '')", "'|'", "coalesce(supervisor, '')", "'|'",
            "coalesce(site_code, '')", "'|'", "coalesce(skills, '')", "'|'", "coalesce(employment_type, '')",
            "'|'", "coalesce(cast(end_date as " ~ dbt.type_string() ~ "), '')"
        ]) }} as attributes
    from exports
),

changes_flagged as (
    select
        *,
        case
            when lag(attributes) over (partition by agent_id order by as_of_date) = attributes then 0 else 1
        end as is_change
    from fingerprinted
),

versions_numbered as (
    select
        *,
        sum(is_change) over (
            partition by agent_id order by as_of_date rows between unbounded preceding and current row
        ) as version_number
    from changes_flagged
),

versions as (
    select
        agent_id,
        version_number,
        min(as_of_date) as first_export_date,
        max(as_of_date) as last_export_date,
        max(agent_name) as agent_name,
        max(team) as team,
        max(supervisor) as supervisor,
        max(site_code) as site_code,
        max(skills) as skills,
        max(employment_type) as employment_type,
        max(hire_date) as hire_date,
        max(end_date) as end_date
    from versions_numbered
    group by agent_id, version_number
),

bounded as (
    select
        *,
        case
            when version_number = 1 then cast('1900-01-01' as date) else first_export_date
        end as valid_from,
        coalesce(
            lead(first_export_date) over (partition by agent_id order by version_number),
            cast('9999-12-31' as date)
        ) as valid_to,
        lead(first_export_date) over (partition by agent_id order by version_number) is null as is_current
    from versions
)

select * from bounded
