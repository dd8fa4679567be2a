-- Incremental agent state timeline. A report date's pieces depend on every episode overlapping it,
-- and an episode can change without a newly loaded row: an open episode (end_ts null) ends at the
-- data end, which moves with every load; a re-derived Asterisk history deletes and re-inserts rows;
-- a roster change can move an agent to another site (time zone). So instead of a loaded_at
-- watermark the run compares the episodes as they are now with those {{ this }} was built from
-- (its episode-start pieces) and rebuilds every report date either version of a changed episode
-- touches. Equal to a full rebuild, except a date whose every episode vanished keeps its old rows
-- (delete+insert deletes only the dates it inserts; the same holds for the other incremental models).

{#- A query of report_date: the dates {{ this }} must rebuild. `episodes` is a CTE with agent_id,
    site_code, time_zone, state, reason, start_ts, end_ts (closed at the data end), is_open,
    episode_s; `days` is int_local_days_bounded. Call it only inside is_incremental(). -#}
{% macro agent_state_dates_to_rebuild(episodes, days) -%}
    {%- set episode_columns = 'agent_id, site_code, time_zone, state, reason, start_ts, end_ts, is_open, episode_s' -%}
    select t.report_date
    from {{ this }} as t
    inner join (
        select {{ episode_columns }} from {{ this }} where is_episode_start
        except all
        select {{ episode_columns }} from {{ episodes }}
    ) as gone
        on
            t.agent_id = gone.agent_id
            and t.state = gone.state
            and t.start_ts = gone.start_ts
    union
    select d.local_date as report_date
    from (
        select {{ episode_columns }} from {{ episodes }}
        except all
        select {{ episode_columns }} from {{ this }} where is_episode_start
    ) as arrived
    inner join {{ days }} as d
        on
            arrived.time_zone = d.time_zone
            and arrived.start_ts < d.day_end_utc
            and arrived.end_ts > d.day_start_utc
{%- endmacro %}
