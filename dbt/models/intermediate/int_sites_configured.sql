-- One row per site with its reporting time zone; the default site catches agents and queues
-- that no configuration places.
with

queues as (
    select * from {{ ref('int_queues_configured') }}
),

sites as (
    select
        site_code,
        min(site_name) as site_name,
        min(time_zone) as time_zone
    from queues
    group by site_code
),

default_site as (
    select
        '{{ var("default_site_code") }}' as site_code,
        '{{ var("default_site_code") }}' as site_name,
        '{{ var("default_time_zone") }}' as time_zone
),

unioned as (
    select * from sites
    union all
    select * from default_site
    where default_site.site_code not in (select s.site_code from sites as s)
)

select * from unioned
