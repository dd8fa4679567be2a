-- One row per agent and queue the agent is currently skilled for (roster `skills`, `;`-separated).
with

agents as (
    select * from {{ ref('int_agents_historized') }}
    where is_current
),

split as (
    select
        agent_id,
        site_code,
        {{ split_to_rows('skills', "';'") }} as queue_code
    from agents
    where skills is not null
),

final as (
    select distinct
        agent_id,
        site_code,
        trim(queue_code) as queue_code
    from split
    where trim(queue_code) <> ''
)

select * from final
