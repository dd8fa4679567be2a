-- Monthly agent scorecard against the center's monthly averages (operations manual rules, with
-- the point bands in seeds/scorecard_bands.csv). A band matches when the agent's gap to the center
-- average is at most its max_gap (or the band is open-ended); points only fall as the gap grows,
-- so the score is the highest matching band's points.
-- Incremental (delete+insert by month; the center averages make a month one unit): a run rebuilds
-- the months of the dates agg_agent_daily rebuilt since its last build (agent_chain_build_log), of
-- the contact dates fct_contacts has (re)written since (written_at: macros/fcr_incremental.sql) and
-- the months whose rows name another agent name or team than the roster version now valid at the
-- month's start. A new day reads one month of contacts, not all.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='sync_all_columns',
        post_hook=["{{ record_agent_build() }}"]
    )
}}

{% set base_ctes %}
all_daily as (
    select * from {{ ref('agg_agent_daily') }}
),

agents as (
    select * from {{ ref('int_agents_historized') }}
)
{% endset %}

{#- a table from before written_at rebuilds every month once (no 'incremental' entry is logged) -#}
{%- set incremental = is_incremental_with(['written_at']) and agent_chain_is_incremental(['agg_agent_daily']) -%}

{%- if incremental -%}
    {%- set months_sql -%}
        select cast({{ dbt.date_trunc('month', 'd.report_date') }} as date) as report_date
        from ({{ upstream_rebuilt_dates('agg_agent_daily') }}) as d
        union
        select cast({{ dbt.date_trunc('month', 'f.report_date') }} as date) as report_date
        from ({{ contact_report_dates_to_rebuild(ref('fct_contacts')) }}) as f
        union
        select s.month as report_date
        from {{ this }} as s
        left join agents as a
            on s.agent_id = a.agent_id and {{ roster_version_valid_on('a', 's.month') }}
        where s.agent_name is distinct from a.agent_name or s.team is distinct from a.team
    {%- endset -%}
    {#- logged as this model's dates (first days of months), read back as literals so the scans
        below filter in place instead of joining all history with a subquery -#}
    {%- set logged = log_rebuilt_dates(base_ctes, months_sql) -%}
    {%- set months = dates_of(logged) -%}
{%- endif %}

with

{{ base_ctes }},

daily as (
    select * from all_daily
    {%- if incremental %}
        where {{ in_months('report_date', months) }}
    {%- endif %}
),

contacts as (
    select * from {{ ref('fct_contacts') }}
    where
        is_handled and last_agent_id is not null
        {%- if incremental %}
            and {{ in_months('report_date', months) }}
        {%- endif %}
),

bands as (
    select * from {{ ref('scorecard_bands') }}
),

monthly as (
    select
        agent_id,
        cast({{ dbt.date_trunc('month', 'report_date') }} as date) as month,
        sum(handled) as handled,
        sum(talk_s) as talk_s,
        sum(handle_s) as handle_s,
        sum(complaints) as complaints
    from daily
    group by agent_id, cast({{ dbt.date_trunc('month', 'report_date') }} as date)
    having sum(handled) > 0
),

customer_results as (
    select
        last_agent_id as agent_id,
        cast({{ dbt.date_trunc('month', 'report_date') }} as date) as month,
        sum(case when csat >= 4 then 1 else 0 end) as csat_num,
        sum(case when csat is not null then 1 else 0 end) as csat_den,
        sum(case when fcr_status = 'resolved' then 1 else 0 end) as fcr_num,
        sum(case when fcr_status in ('resolved', 'repeat') then 1 else 0 end) as fcr_den,
        max(report_date) as last_contact_date,
        max(loaded_at) as loaded_at,
        max(written_at) as written_at
    from contacts
    group by last_agent_id, cast({{ dbt.date_trunc('month', 'report_date') }} as date)
),

center as (
    select
        month,
        {{ safe_ratio('sum(talk_s)', 'sum(handled)') }} as center_avg_talk_s,
        {{ safe_ratio('sum(handle_s)', 'sum(handled)') }} as center_aht_s,
        avg(cast(handled as {{ dbt.type_float() }})) as center_avg_handled
    from monthly
    group by month
),

gaps as (
    select
        m.*,
        {{ safe_ratio('m.talk_s', 'm.handled') }} as avg_talk_s,
        {{ safe_ratio('m.handle_s', 'm.handled') }} as aht_s,
        c.center_avg_talk_s,
        c.center_aht_s,
        c.center_avg_handled,
        {{ safe_ratio('m.talk_s', 'm.handled') }} - c.center_avg_talk_s as talk_gap_s,
        {{ safe_ratio('m.handle_s', 'm.handled') }} - c.center_aht_s as aht_gap_s,
        c.center_avg_handled - m.handled as volume_gap
    from monthly as m
    inner join center as c
        on m.month = c.month
),

scored as (
    select
        g.agent_id,
        g.month,
        max(case when b.component = 'talk' and (b.max_gap is null or g.talk_gap_s <= b.max_gap) then b.points end)
            as talk_score,
        max(case when b.component = 'aht' and (b.max_gap is null or g.aht_gap_s <= b.max_gap) then b.points end)
            as aht_score,
        max(case when b.component = 'volume' and (b.max_gap is null or g.volume_gap <= b.max_gap) then b.points end)
            as volume_score,
        max(case when b.component = 'complaint' then b.points end) as points_per_complaint
    from gaps as g
    cross join bands as b
    group by g.agent_id, g.month
),

final as (
    select
        g.month,
        g.agent_id,
        a.agent_name,
        a.team,
        g.handled,
        g.avg_talk_s,
        g.center_avg_talk_s,
        g.aht_s,
        g.center_aht_s,
        g.center_avg_handled,
        g.complaints,
        s.talk_score,
        s.aht_score,
        s.volume_score,
        g.complaints * s.points_per_complaint as complaint_points,
        coalesce(cr.csat_num, 0) as csat_num,
        coalesce(cr.csat_den, 0) as csat_den,
        coalesce(cr.fcr_num, 0) as fcr_num,
        coalesce(cr.fcr_den, 0) as fcr_den,
        s.talk_score + s.aht_score + s.volume_score + g.complaints * s.points_per_complaint as total_score,
        cr.last_contact_date,
        cr.loaded_at,
        cr.written_at
    from gaps as g
    inner join scored as s
        on g.agent_id = s.agent_id and g.month = s.month
    left join customer_results as cr
        on g.agent_id = cr.agent_id and g.month = cr.month
    left join agents as a
        on g.agent_id = a.agent_id and {{ roster_version_valid_on('a', 'g.month') }}
)

select * from final
