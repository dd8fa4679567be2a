-- Incremental agent state timeline. A report date's pieces depend on every episode overlapping it,
-- and an episode can change without a newly loaded row: an open episode (end_ts null) ends at the
-- data end, which moves with every load; a re-derived Asterisk history or a rollback deletes rows;
-- a roster change can move an agent to another site (time zone). Raw rows are never updated in
-- place (a changed row is deleted and re-inserted with a new loaded_at), so when no row loaded
-- before {{ this }}'s newest loaded_at has gone, the dates to rebuild are exactly those of the rows
-- loaded since, of the open episodes, old and new, and every date of an agent whose site or time
-- zone changed (the fast path).
-- Otherwise the run compares the episodes as they are now with those {{ this }} was built from
-- (its episode-start pieces) and rebuilds every report date either version of a changed episode
-- touches. Equal to a full rebuild, except a date whose every episode vanished keeps its old rows
-- (delete+insert deletes only the dates it inserts; the same holds for the other incremental models).
-- Episodes are compared as (columns, copies) groups with a set EXCEPT: exact for duplicates too,
-- and a hash anti-join where EXCEPT ALL numbers every row (1.4 s vs 0.7 s on 350k episodes).

{#- A query of report_date: the dates {{ this }} must rebuild. `episodes` is a CTE with agent_id,
    site_code, time_zone, state, reason, start_ts, end_ts (closed at the data end), is_open,
    episode_s; `days` is int_local_days_bounded. Call it only inside is_incremental(). -#}
{% macro agent_state_dates_to_rebuild(episodes, days) -%}
    {%- set episode_columns = 'agent_id, site_code, time_zone, state, reason, start_ts, end_ts, is_open, episode_s' -%}
    select t.report_date
    from {{ this }} as t
    inner join (
        select {{ episode_columns }}, count(*) as copies from {{ this }} where is_episode_start group by all
        except
        select {{ episode_columns }}, count(*) as copies from {{ episodes }} group by all
    ) as gone
        on
            t.agent_id = gone.agent_id
            and t.state = gone.state
            and t.start_ts = gone.start_ts
    union
    select d.local_date as report_date
    from (
        select {{ episode_columns }}, count(*) as copies from {{ episodes }} group by all
        except
        select {{ episode_columns }}, count(*) as copies from {{ this }} where is_episode_start group by all
    ) as arrived
    inner join {{ days }} as d
        on
            arrived.time_zone = d.time_zone
            and arrived.start_ts < d.day_end_utc
            and arrived.end_ts > d.day_start_utc
{%- endmacro %}


{#- The agents of {{ this }} whose site or time zone differs from the current roster and site
    configuration (a roster export moved them, or gave them a site for the first time): every date
    they have in {{ this }} or in `episodes` is rebuilt, so the rest of the run can ignore them.
    `agents` (current versions) and `sites` are CTEs of the calling query. -#}
{% macro agent_states_moved_agents() -%}
    select b.agent_id
    from (select distinct agent_id, site_code, time_zone from {{ this }}) as b
    left join agents as a
        on b.agent_id = a.agent_id
    left join sites as si
        on coalesce(a.site_code, '{{ var("default_site_code") }}') = si.site_code
    where
        b.agent_id is not null
        and (
            b.site_code <> coalesce(a.site_code, '{{ var("default_site_code") }}')
            or b.time_zone <> coalesce(si.time_zone, '{{ var("default_time_zone") }}')
        )
{%- endmacro %}


{#- True when, leaving out the moved agents (agent_states_moved_agents, rebuilt on every date),
    raw agent states only grew since {{ this }} was built: as many closed states loaded up to its
    watermark as it has closed episodes (each closed state has exactly one episode-start piece,
    unless it is zero seconds long at a local midnight; an agent that did not move keeps its time
    zone, so those are counted with today's). Every piece and state belongs to one agent, so the
    count argument holds for that subset as it does for all. `ctes` defines states, agents
    (current), sites, `episodes` and `days`. One query at execution; it reads no more than the
    columns it counts. -#}
{% macro agent_states_only_appended(ctes, episodes, days) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set check -%}
        with
        {{ ctes }},

        watermark as (
            select coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as loaded_before
            from {{ this }}
        ),

        moved_agents as (
            {{ agent_states_moved_agents() }}
        )

        select
            (
                select count(*) from {{ this }} as t
                where
                    t.is_episode_start
                    and not t.is_open
                    and coalesce(t.agent_id not in (select m.agent_id from moved_agents as m), true)
            )
            = (
                select count(*) from states as s
                where
                    s.end_ts is not null
                    and s.loaded_at <= (select w.loaded_before from watermark as w)
                    and coalesce(s.agent_id not in (select m.agent_id from moved_agents as m), true)
            )
            - (
                select count(*)
                from {{ episodes }} as e
                where
                    e.end_ts = e.start_ts
                    and not e.is_open
                    and e.loaded_at <= (select w.loaded_before from watermark as w)
                    and coalesce(e.agent_id not in (select m.agent_id from moved_agents as m), true)
                    and exists (
                        select 1 from {{ days }} as d
                        where d.time_zone = e.time_zone and d.day_start_utc = e.start_ts
                    )
            ) as only_appended
    {%- endset -%}
    {{ return(run_query(check).columns[0].values()[0]) }}
{%- endmacro %}


{#- The fast path's dates: those of states loaded since {{ this }}'s newest loaded_at, of open
    episodes, as {{ this }} has them and as they are now, and every date of a moved agent, old and
    new. Episodes are filtered before the range join to the days (a filter with a scalar subquery
    after the join made DuckDB join every episode first: 1.8 s vs 0.25 s CPU on 970k states). -#}
{% macro agent_state_appended_dates(episodes, days) -%}
    select t.report_date
    from {{ this }} as t
    where t.is_open or t.agent_id in (select m.agent_id from moved_agents as m)
    union
    select d.local_date as report_date
    from (
        select e.time_zone, e.start_ts, e.end_ts
        from {{ episodes }} as e
        cross join (
            select coalesce(max(old.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as loaded_before
            from {{ this }} as old
        ) as w
        where
            e.is_open
            or e.loaded_at > w.loaded_before
            or e.agent_id in (select m.agent_id from moved_agents as m)
    ) as changed
    inner join {{ days }} as d
        on
            changed.time_zone = d.time_zone
            and changed.start_ts < d.day_end_utc
            and changed.end_ts > d.day_start_utc
{%- endmacro %}
