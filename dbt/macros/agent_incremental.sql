-- Incremental agent state timeline. A report date's pieces depend on every episode overlapping it,
-- and an episode can change without a newly loaded row: an open episode (end_ts null) ends at the
-- data end, which moves with every load; a re-derived Asterisk history or a rollback deletes rows;
-- a roster export can place an agent's episodes at another site (time zone) from the date its new
-- version is valid on (episodes take the version valid on the UTC date of their start,
-- macros/roster_versions.sql), or, for an export earlier than every other of the agent, on all
-- dates. Raw rows are never updated in place (a changed row is deleted and re-inserted with a new
-- loaded_at), so when no row loaded before {{ this }}'s newest loaded_at has gone, the dates to
-- rebuild are exactly those of the rows loaded since, of the open episodes, old and new, and of
-- each agent's episodes from the first one the roster now places elsewhere (the fast path).
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


{#- Per agent of {{ this }}, the start of its first episode the roster now places at another site or
    time zone than {{ this }} has it (a roster export moved the agent from that version on, or gave
    it a site for the first time, or a site's time zone changed): moved_from_ts. The agent's
    episodes from then on are rebuilt on every date they touch, old and new, so the rest of the run
    can ignore them; earlier episodes keep their version. `agents` (int_agents_historized, every
    version) and `sites` are CTEs of the calling query. -#}
{% macro agent_states_moved_episodes() -%}
    {#- episodes of one agent, site, zone and UTC start date share their version: compare those
        groups (~0.06 vs ~0.15 CPU s for joining each of 970k episode starts with the versions) #}
    select
        t.agent_id,
        min(t.first_start_ts) as moved_from_ts
    from (
        select
            agent_id,
            site_code,
            time_zone,
            cast(start_ts as date) as start_date,
            min(start_ts) as first_start_ts
        from {{ this }}
        where
            is_episode_start and agent_id is not null
            and {{ agents_with_changed_site_versions_filter('agent_id') }}
        group by agent_id, site_code, time_zone, cast(start_ts as date)
    ) as t
    left join agents as a
        on
            t.agent_id = a.agent_id
            and {{ roster_version_valid_on('a', 't.start_date') }}
    left join sites as si
        on coalesce(a.site_code, '{{ var("default_site_code") }}') = si.site_code
    where
        t.site_code <> coalesce(a.site_code, '{{ var("default_site_code") }}')
        or t.time_zone <> coalesce(si.time_zone, '{{ var("default_time_zone") }}')
    group by t.agent_id
{%- endmacro %}


{#- The site and time zone versions the timeline places episodes by, one row per roster version:
    (agent_id, valid_from, valid_to, site_code, time_zone). -#}
{% macro agent_site_versions() -%}
    select
        a.agent_id,
        a.valid_from,
        a.valid_to,
        coalesce(a.site_code, '{{ var("default_site_code") }}') as site_code,
        coalesce(si.time_zone, '{{ var("default_time_zone") }}') as time_zone
    from {{ ref('int_agents_historized') }} as a
    left join {{ ref('int_sites_configured') }} as si
        on coalesce(a.site_code, '{{ var("default_site_code") }}') = si.site_code
{%- endmacro %}


{#- agent_site_versions() as the timeline was last built with them, written by its post-hook in the
    same transaction as its rows (record_site_versions). -#}
{% macro site_versions_seen() -%}
    {{ return(this.incorporate(path={
        'schema': generate_schema_name('intermediate', none) | trim,
        'identifier': 'agent_chain_site_versions'
    })) }}
{%- endmacro %}


{#- Two post-hook statements: Spark's default (Hive) tables refuse `create or replace table as`. -#}
{% macro drop_site_versions() -%}
    drop table if exists {{ site_versions_seen() }}
{%- endmacro %}


{% macro record_site_versions() -%}
    create table {{ site_versions_seen() }} as {{ agent_site_versions() }}
{%- endmacro %}


{#- A filter on `column` (agent_id) to the agents whose site or zone versions differ, either way,
    from those the timeline was last built with: only their episodes can have moved, since after
    every run the timeline places each episode by the versions of that run. Read now as literals (the
    scan then groups only those agents' episode starts: at 10M contacts the check grouped 28M rows on
    every new day); `true` (every agent) when no record exists yet, e.g. right after an upgrade. -#}
{% macro agents_with_changed_site_versions_filter(column) -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set seen = site_versions_seen() -%}
    {%- if adapter.get_relation(database=seen.database, schema=seen.schema, identifier=seen.identifier) is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set changed_sql -%}
        with now_valid as ({{ agent_site_versions() }})
        select distinct agent_id from (
            (select * from now_valid except select * from {{ seen }})
            union all
            (select * from {{ seen }} except select * from now_valid)
        ) as differing
        order by agent_id
    {%- endset -%}
    {%- set quoted = [] -%}
    {%- for agent in run_query(changed_sql).columns[0].values() -%}
        {%- do quoted.append("'" ~ (agent | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return(column ~ ' in (' ~ (quoted | join(', ')) ~ ')' if quoted else 'false') }}
{%- endmacro %}


{#- Restricts `alias` (rows with agent_id and start_ts) to the moved episodes (`moved_episodes`,
    agent_states_moved_episodes). An inner join, not a filter: a filter OR-ing it with other
    conditions let DuckDB range-join every episode with the days first (18.6 s vs 0.4 s wall on 970k
    states, the trap agent_state_appended_dates describes), and no correlated subquery (Spark). -#}
{% macro join_moved_episodes(alias) -%}
    inner join moved_episodes as m
        on {{ alias }}.agent_id = m.agent_id and {{ alias }}.start_ts >= m.moved_from_ts
{%- endmacro %}


{#- True when, leaving out the moved episodes (agent_states_moved_episodes: rebuilt on every date),
    raw agent states only grew since {{ this }} was built: as many closed states loaded up to its
    watermark as it has closed episodes (each closed state has exactly one episode-start piece,
    unless it is zero seconds long at a local midnight; an episode that did not move keeps its time
    zone, so those are counted with today's; one whose zone changed without an episode-start piece
    makes the counts differ, and the run compares episodes). The moved set is a set of (agent, start
    from) ranges and every piece and state belongs to one agent and start, so the count argument
    holds for the rest as it does for all; each count is taken for all rows less the moved ones.
    `ctes` defines states, agents, sites, `episodes` and `days`. One query at execution; it reads
    no more than the columns it counts. -#}
{% macro agent_states_only_appended(ctes, episodes, days) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set closed_pieces -%}
        from {{ this }} as t
        {join}
        where t.is_episode_start and not t.is_open
    {%- endset -%}
    {%- set closed_states -%}
        from states as s
        {join}
        where s.end_ts is not null and s.loaded_at <= (select w.loaded_before from watermark as w)
    {%- endset -%}
    {%- set zero_at_midnight -%}
        from {{ episodes }} as e
        {join}
        where
            e.end_ts = e.start_ts
            and not e.is_open
            and e.loaded_at <= (select w.loaded_before from watermark as w)
            and exists (
                select 1 from {{ days }} as d
                where d.time_zone = e.time_zone and d.day_start_utc = e.start_ts
            )
    {%- endset -%}
    {%- set check -%}
        with
        {{ ctes }},

        watermark as (
            select coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as loaded_before
            from {{ this }}
        ),

        moved_episodes as (
            {{ agent_states_moved_episodes() }}
        )

        select
            (select count(*) {{ closed_pieces.replace('{join}', '') }})
            - (select count(*) {{ closed_pieces.replace('{join}', join_moved_episodes('t')) }})
            = (select count(*) {{ closed_states.replace('{join}', '') }})
            - (select count(*) {{ closed_states.replace('{join}', join_moved_episodes('s')) }})
            - (select count(*) {{ zero_at_midnight.replace('{join}', '') }})
            + (select count(*) {{ zero_at_midnight.replace('{join}', join_moved_episodes('e')) }})
            as only_appended
    {%- endset -%}
    {{ return(run_query(check).columns[0].values()[0]) }}
{%- endmacro %}


{#- The fast path's dates: those of states loaded since {{ this }}'s newest loaded_at, of open
    episodes, as {{ this }} has them and as they are now, and every date of a moved episode
    (`moved_episodes`), old and new. Episodes are filtered before the range join to the days (a
    filter with a scalar subquery after the join made DuckDB join every episode first: 1.8 s vs
    0.25 s CPU on 970k states). -#}
{% macro agent_state_appended_dates(episodes, days) -%}
    select t.report_date
    from {{ this }} as t
    where t.is_open
    union
    select t.report_date
    from {{ this }} as t
    {{ join_moved_episodes('t') }}
    union
    select d.local_date as report_date
    from (
        select
            e.time_zone,
            e.start_ts,
            e.end_ts
        from {{ episodes }} as e
        cross join (
            select coalesce(max(old.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as loaded_before
            from {{ this }} as old
        ) as w
        where e.is_open or e.loaded_at > w.loaded_before
        union all
        select
            e.time_zone,
            e.start_ts,
            e.end_ts
        from {{ episodes }} as e
        {{ join_moved_episodes('e') }}
    ) as changed
    inner join {{ days }} as d
        on
            changed.time_zone = d.time_zone
            and changed.start_ts < d.day_end_utc
            and changed.end_ts > d.day_start_utc
{%- endmacro %}


-- The agent chain's build log. The models below the timeline must rebuild the dates the timeline
-- (or another model of the chain) rebuilt, and the upstream table cannot say which those were: its
-- loaded_at is the source row's, and a roster move or a deleted state changes dates without a newer
-- row. So each incremental model of the chain logs, before it runs, the dates it is about to
-- rebuild ('date' rows, with an 'incremental' row saying it runs incrementally), and after it
-- succeeded a 'built' row (or 'full' when it rebuilt everything), in the same transaction as its
-- insert. A model downstream rebuilds the dates its upstreams logged after its own last 'built' /
-- 'full' row, and everything when an upstream logged 'full' since then. The log lives beside the
-- models, so the tables themselves stay exactly what a --full-refresh gives. Dates logged by a run
-- that then failed only make a downstream model rebuild more than needed, never less.

{#- The log table: (model_name, invocation_id, entry, report_date, logged_at). -#}
{% macro agent_build_log() -%}
    {{ return(this.incorporate(path={
        'schema': generate_schema_name('intermediate', none) | trim,
        'identifier': 'agent_chain_build_log'
    })) }}
{%- endmacro %}


{% macro ensure_agent_build_log() -%}
    {%- do run_query(adapter.dispatch('agent_build_log_ddl', 'callcenter')(agent_build_log())) -%}
{%- endmacro %}

{% macro default__agent_build_log_ddl(relation) -%}
    create table if not exists {{ relation }} (
        model_name {{ dbt.type_string() }},
        invocation_id {{ dbt.type_string() }},
        entry {{ dbt.type_string() }},
        report_date date,
        logged_at {{ dbt.type_timestamp() }}
    )
{%- endmacro %}


{#- A log row of this model and invocation (SQL text; `report_date` is SQL too). -#}
{% macro agent_build_log_row(entry, report_date='null') -%}
    select
        '{{ this.name }}' as model_name,
        '{{ invocation_id }}' as invocation_id,
        '{{ entry }}' as entry,
        cast({{ report_date }} as date) as report_date,
        cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as logged_at
{%- endmacro %}


{#- Whether this model runs incrementally: {{ this }} has the loaded_at watermark and, for a model
    with `upstreams` in the chain, has logged a build that no upstream 'full' build has superseded
    (otherwise it rebuilds every key once: an instance built before the log existed upgrades
    itself). When true, logs that it runs incrementally (see record_agent_build). -#}
{% macro agent_chain_is_incremental(upstreams=[]) -%}
    {%- if not is_incremental_with(['loaded_at']) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- do ensure_agent_build_log() -%}
    {%- if upstreams -%}
        {%- set check -%}
            with last_build as (
                select max(logged_at) as logged_at from {{ agent_build_log() }}
                where model_name = '{{ this.name }}' and entry in ('built', 'full')
            )

            select
                (select lb.logged_at from last_build as lb) is not null
                and (
                    select count(*) from {{ agent_build_log() }} as l
                    where
                        l.model_name in ('{{ upstreams | join("', '") }}')
                        and l.entry = 'full'
                        and l.logged_at > (select lb.logged_at from last_build as lb)
                ) = 0 as incremental
        {%- endset -%}
        {%- if not run_query(check).columns[0].values()[0] -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endif -%}
    {%- do run_query('insert into ' ~ agent_build_log() ~ ' ' ~ agent_build_log_row('incremental')) -%}
    {{ return(true) }}
{%- endmacro %}


{#- A query of report_date: the dates `upstream` logged after this model's last build. -#}
{% macro upstream_rebuilt_dates(upstream) -%}
    select l.report_date
    from {{ agent_build_log() }} as l
    where
        l.model_name = '{{ upstream }}'
        and l.entry = 'date'
        and l.logged_at > (
            select max(mine.logged_at) from {{ agent_build_log() }} as mine
            where mine.model_name = '{{ this.name }}' and mine.entry in ('built', 'full')
        )
{%- endmacro %}


{#- Runs `dates_sql` (a query of report_date over the CTEs `ctes`) now, logs its dates as this
    model's, and returns a query of them for the model to filter on: the dates are computed once,
    and downstream models see exactly the dates this run rebuilds. Call it only when incremental. -#}
{% macro log_rebuilt_dates(ctes, dates_sql) -%}
    {%- if execute -%}
        {%- do run_query(
            'insert into ' ~ agent_build_log() ~ ' select model_name, invocation_id, entry, report_date, logged_at from ('
            ~ agent_build_log_row('date', 'd.report_date') ~ ' from (with ' ~ ctes ~ ' select distinct report_date from ('
            ~ dates_sql ~ ') as u where report_date is not null) as d) as logged'
        ) -%}
    {%- endif -%}
    select l.report_date
    from {{ agent_build_log() }} as l
    where
        l.model_name = '{{ this.name }}'
        and l.invocation_id = '{{ invocation_id }}'
        and l.entry = 'date'
{%- endmacro %}


{#- The dates a query of one date column returns, read now (empty while parsing): for filters written
    as literals, which DuckDB applies in the scan instead of joining all history with a subquery. -#}
{% macro dates_of(sql) -%}
    {{ return(run_query(sql).columns[0].values() if execute else []) }}
{%- endmacro %}


{#- Post-hook of the chain's incremental models (inside the model's transaction): 'built' when this
    invocation logged that the model ran incrementally, else 'full' (first build, --full-refresh, or
    an upgrade), which makes every model downstream rebuild everything once. -#}
{% macro record_agent_build() -%}
    {%- if execute -%}
        {%- do ensure_agent_build_log() -%}
    {%- endif -%}
    insert into {{ agent_build_log() }}
    select model_name, invocation_id, entry, report_date, logged_at from (
        {{ agent_build_log_row('built') }}
    ) as built
    where exists (
        select 1 from {{ agent_build_log() }} as l
        where l.model_name = '{{ this.name }}' and l.invocation_id = '{{ invocation_id }}' and l.entry = 'incremental'
    )
    union all
    select model_name, invocation_id, entry, report_date, logged_at from (
        {{ agent_build_log_row('full') }}
    ) as rebuilt
    where not exists (
        select 1 from {{ agent_build_log() }} as l
        where l.model_name = '{{ this.name }}' and l.invocation_id = '{{ invocation_id }}' and l.entry = 'incremental'
    )
{%- endmacro %}


{#- A query of report_date: the scheduled days int_schedules_compared_to_actuals must rebuild.
    Those of schedule rows loaded since {{ this }}'s newest loaded_at; those whose rows loaded up to
    it are now fewer than the table counted (deleted: a re-export replacing rows, a rollback); and
    those with a schedule row overlapping a local day, of any site, that the timeline rebuilt since
    this model's last build: every state that changed since, either version, lies within such a
    day, and only schedule rows overlapping a state pair with it. -#}
{% macro schedule_dates_to_rebuild(activities, days) -%}
    {%- set watermark -%}
        (
            select coalesce(max(prev.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
            from {{ this }} as prev
        )
    {%- endset -%}
    select a.schedule_date as report_date
    from {{ activities }} as a
    where a.loaded_at > {{ watermark }}
    union
    select t.schedule_date as report_date
    from {{ this }} as t
    left join (
        select
            a.agent_id,
            a.schedule_date,
            count(*) as activity_rows
        from {{ activities }} as a
        where a.loaded_at <= {{ watermark }}
        group by a.agent_id, a.schedule_date
    ) as kept
        on t.agent_id = kept.agent_id and t.schedule_date = kept.schedule_date
    where coalesce(kept.activity_rows, 0) <> t.activity_rows
    union
    select a.schedule_date as report_date
    from {{ activities }} as a
    inner join (
        select
            d.day_start_utc,
            d.day_end_utc
        from {{ days }} as d
        where d.local_date in ({{ upstream_rebuilt_dates('int_agent_states_timeline') }})
    ) as rebuilt
        on a.start_ts < rebuilt.day_end_utc and a.end_ts > rebuilt.day_start_utc
{%- endmacro %}


{#- The newest schedule load behind {{ this }} (its loaded_at watermark), as a scalar subquery. -#}
{% macro agent_schedule_watermark() -%}
    (
        select coalesce(max(prev.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }} as prev
    )
{%- endmacro %}


{#- The index of a grid interval start (var interval_minutes) counted from 2000-01-01 00:00 UTC. -#}
{% macro interval_index(ts) -%}
    cast(round({{ seconds_between("cast('2000-01-01' as " ~ dbt.type_timestamp() ~ ")", ts) }}
    / {{ var('interval_minutes') * 60 }}) as bigint)
{%- endmacro %}


{#- The agents of int_agent_intervals_staffed ({{ this }}) whose schedule rows, loaded up to its
    watermark, are no longer those it was built from, or no longer at the site / time zone it placed
    them at (a rollback or a re-export deleted rows; a roster export moved the agent from some
    schedule_date on, or gave it a site). Cheap: per agent, site and time zone, the table's (schedule
    row, interval) pieces are compared with those of the located rows (`located`: schedule rows with
    the site_code / time_zone of the roster version valid on their schedule_date) by two checksums
    computed without expanding a row: their count and the sum of their interval indexes, twice (a
    row from s to e touches the n = ceil((e - floor(s)) / interval) grid intervals from floor(s),
    whose indexes sum to n * i0 + n * (n - 1) / 2). Rows are never updated in place, so a deleted row
    lowers its group's count, and a moved row lowers the group it left; only pieces moving into a
    group as well as out of it, with equal counts and index sums, could cancel. -#}
{% macro staffed_changed_agents(located) -%}
    select coalesce(t.agent_id, k.agent_id) as agent_id
    from (
        select
            agent_id,
            site_code,
            time_zone,
            sum(schedule_rows) as pieces,
            sum(2 * schedule_rows * {{ interval_index('interval_start_utc') }}) as piece_index_sum
        from {{ this }}
        where schedule_rows > 0
        group by agent_id, site_code, time_zone
    ) as t
    full outer join (
        select
            agent_id,
            site_code,
            time_zone,
            sum(n) as pieces,
            sum(2 * n * first_index + n * (n - 1)) as piece_index_sum
        from (
            select
                a.agent_id,
                a.site_code,
                a.time_zone,
                cast(greatest(0, ceil({{ seconds_between(interval_floor('a.start_ts'), 'a.end_ts') }}
                / {{ var('interval_minutes') * 60 }})) as bigint) as n,
                {{ interval_index(interval_floor('a.start_ts')) }} as first_index
            from {{ located }} as a
            where a.loaded_at <= {{ agent_schedule_watermark() }}
        ) as rows_pieces
        where n > 0
        group by agent_id, site_code, time_zone
    ) as k
        on t.agent_id = k.agent_id and t.site_code = k.site_code and t.time_zone = k.time_zone
    where
        coalesce(t.pieces, 0) <> coalesce(k.pieces, 0)
        or coalesce(t.piece_index_sum, 0) <> coalesce(k.piece_index_sum, 0)
{%- endmacro %}


{#- A query of interval_start_utc: the intervals int_agent_intervals_staffed must rebuild (for every
    agent). Those of the local days, any site, the timeline rebuilt since this model's last build
    (logged-in time, moved episodes included); those schedule rows loaded since its watermark touch;
    and, for the agents whose schedule rows changed (`changed_agents`, staffed_changed_agents), the
    intervals whose count of schedule pieces per agent, site and time zone differs from the table's
    (exact: a deleted row lowers the count of its old interval, a moved row that of its old site). -#}
{% macro staffed_intervals_to_rebuild(located, spine) -%}
    select sp.interval_start_utc
    from {{ spine }} as sp
    where sp.report_date in ({{ upstream_rebuilt_dates('int_agent_states_timeline') }})
    union
    select
        {{ timestamp_series(interval_floor('a.start_ts'), interval_floor('a.end_ts'), var('interval_minutes')) }}
            as interval_start_utc
    from {{ located }} as a
    where a.loaded_at > {{ agent_schedule_watermark() }}
    union
    select coalesce(t.interval_start_utc, k.interval_start_utc) as interval_start_utc
    from (
        select
            agent_id,
            site_code,
            time_zone,
            interval_start_utc,
            sum(schedule_rows) as pieces
        from {{ this }}
        where schedule_rows > 0 and agent_id in (select c.agent_id from changed_agents as c)
        group by agent_id, site_code, time_zone, interval_start_utc
    ) as t
    full outer join (
        select
            p.agent_id,
            p.site_code,
            p.time_zone,
            p.interval_start_utc,
            count(*) as pieces
        from (
            select
                a.agent_id,
                a.site_code,
                a.time_zone,
                a.start_ts,
                a.end_ts,
                {{ timestamp_series(interval_floor('a.start_ts'), interval_floor('a.end_ts'), var('interval_minutes')) }}
                    as interval_start_utc
            from {{ located }} as a
            where
                a.loaded_at <= {{ agent_schedule_watermark() }}
                and a.agent_id in (select c.agent_id from changed_agents as c)
        ) as p
        where
            p.start_ts < {{ dbt.dateadd('minute', var('interval_minutes'), 'p.interval_start_utc') }}
            and p.end_ts > p.interval_start_utc
        group by p.agent_id, p.site_code, p.time_zone, p.interval_start_utc
    ) as k
        on
            t.agent_id = k.agent_id
            and t.site_code = k.site_code
            and t.time_zone = k.time_zone
            and t.interval_start_utc = k.interval_start_utc
    where coalesce(t.pieces, 0) <> coalesce(k.pieces, 0)
{%- endmacro %}


{#- A query of report_date: the dates agg_agent_daily must rebuild. Those of agent legs loaded since
    {{ this }}'s newest loaded_at; those the timeline and schedule-vs-actual logged since this model's
    last build; and those where a row's roster attributes are no longer those of the version valid
    that day (`agents`, int_agents_historized): a new, late or deleted roster export changes the team
    history only where it changes the attributes a row carries, so comparing them is exact. -#}
{% macro agent_daily_dates_to_rebuild(legs, agents) -%}
    select l.report_date
    from {{ legs }} as l
    where l.loaded_at > (
        select coalesce(max(prev.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }} as prev
    )
    union
    {{ upstream_rebuilt_dates('int_agent_states_timeline') }}
    union
    {{ upstream_rebuilt_dates('int_schedules_compared_to_actuals') }}
    union
    select t.report_date
    from {{ this }} as t
    left join {{ agents }} as a
        on
            t.agent_id = a.agent_id
            and t.report_date >= a.valid_from
            and t.report_date < a.valid_to
    where
        t.agent_name is distinct from a.agent_name
        or t.team is distinct from a.team
        or t.supervisor is distinct from a.supervisor
        or t.site_code is distinct from coalesce(a.site_code, '{{ var("default_site_code") }}')
{%- endmacro %}
