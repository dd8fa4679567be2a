-- Time-zone and interval arithmetic. Timestamps in the warehouse are naive UTC; reporting happens in
-- each site's local time. Engine-specific syntax is dispatched so the same models run on Spark.

{% macro utc_to_local(ts_utc, time_zone) -%}
    {{ return(adapter.dispatch('utc_to_local', 'callcenter')(ts_utc, time_zone)) }}
{%- endmacro %}

{% macro duckdb__utc_to_local(ts_utc, time_zone) -%}
    timezone({{ time_zone }}, timezone('UTC', {{ ts_utc }}))
{%- endmacro %}

{% macro default__utc_to_local(ts_utc, time_zone) -%}
    from_utc_timestamp({{ ts_utc }}, {{ time_zone }})
{%- endmacro %}


{% macro local_to_utc(ts_local, time_zone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'callcenter')(ts_local, time_zone)) }}
{%- endmacro %}

{% macro duckdb__local_to_utc(ts_local, time_zone) -%}
    timezone('UTC', timezone({{ time_zone }}, {{ ts_local }}))
{%- endmacro %}

{% macro default__local_to_utc(ts_local, time_zone) -%}
    to_utc_timestamp({{ ts_local }}, {{ time_zone }})
{%- endmacro %}


{#- Start of the interval (var interval_minutes) holding ts. Applied to UTC timestamps: the local
    interval grid coincides with the UTC grid for every zone whose offset is a multiple of the
    interval length (see DECISIONLOG), and a UTC grid stays unambiguous on the fall-back day. -#}
{% macro interval_floor(ts) -%}
    {{ return(adapter.dispatch('interval_floor', 'callcenter')(ts)) }}
{%- endmacro %}

{% macro duckdb__interval_floor(ts) -%}
    time_bucket(interval '{{ var("interval_minutes") }} minutes', {{ ts }})
{%- endmacro %}

{% macro default__interval_floor(ts) -%}
    timestamp_seconds(
        floor(unix_seconds({{ ts }}) / {{ var("interval_minutes") * 60 }}) * {{ var("interval_minutes") * 60 }}
    )
{%- endmacro %}


{#- A set-returning select expression: one row per step from start to stop (both included). -#}
{% macro timestamp_series(start_ts, stop_ts, step_minutes) -%}
    {{ return(adapter.dispatch('timestamp_series', 'callcenter')(start_ts, stop_ts, step_minutes)) }}
{%- endmacro %}

{% macro duckdb__timestamp_series(start_ts, stop_ts, step_minutes) -%}
    unnest(generate_series({{ start_ts }}, {{ stop_ts }}, interval '{{ step_minutes }} minutes'))
{%- endmacro %}

{% macro default__timestamp_series(start_ts, stop_ts, step_minutes) -%}
    explode(sequence({{ start_ts }}, {{ stop_ts }}, interval {{ step_minutes }} minutes))
{%- endmacro %}


{#- A set-returning select expression: one date per day from start to stop (both included). -#}
{% macro date_series(start_date, stop_date) -%}
    {{ return(adapter.dispatch('date_series', 'callcenter')(start_date, stop_date)) }}
{%- endmacro %}

{#- DuckDB's series of dates is a series of timestamps: cast here, because Spark cannot cast a generator. -#}
{% macro duckdb__date_series(start_date, stop_date) -%}
    cast(unnest(generate_series(cast({{ start_date }} as date), cast({{ stop_date }} as date), interval 1 day)) as date)
{%- endmacro %}

{% macro default__date_series(start_date, stop_date) -%}
    explode(sequence(cast({{ start_date }} as date), cast({{ stop_date }} as date), interval 1 day))
{%- endmacro %}


{#- Seconds between two timestamps, keeping fractions (dbt.datediff truncates to whole units). -#}
{% macro seconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('seconds_between', 'callcenter')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro duckdb__seconds_between(start_ts, end_ts) -%}
    (epoch({{ end_ts }}) - epoch({{ start_ts }}))
{%- endmacro %}

{% macro default__seconds_between(start_ts, end_ts) -%}
    (unix_micros({{ end_ts }}) - unix_micros({{ start_ts }})) / 1000000.0
{%- endmacro %}


{% macro time_of_day(ts) -%}
    {{ return(adapter.dispatch('time_of_day', 'callcenter')(ts)) }}
{%- endmacro %}

{% macro duckdb__time_of_day(ts) -%}
    strftime({{ ts }}, '%H:%M')
{%- endmacro %}

{% macro default__time_of_day(ts) -%}
    date_format({{ ts }}, 'HH:mm')
{%- endmacro %}


{#- ISO day of week, Monday = 1 ... Sunday = 7. -#}
{% macro day_of_week(d) -%}
    {{ return(adapter.dispatch('day_of_week', 'callcenter')(d)) }}
{%- endmacro %}

{% macro duckdb__day_of_week(d) -%}
    cast(isodow({{ d }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro default__day_of_week(d) -%}
    cast(((dayofweek({{ d }}) + 5) % 7) + 1 as {{ dbt.type_int() }})
{%- endmacro %}


{#- One row per element of a delimited string (delimiter is a SQL literal): a set-returning select expression. -#}
{% macro split_to_rows(column, delimiter) -%}
    {{ return(adapter.dispatch('split_to_rows', 'callcenter')(column, delimiter)) }}
{%- endmacro %}

{% macro duckdb__split_to_rows(column, delimiter) -%}
    unnest(string_split({{ column }}, {{ delimiter }}))
{%- endmacro %}

{% macro default__split_to_rows(column, delimiter) -%}
    explode(split({{ column }}, {{ delimiter }}))
{%- endmacro %}
