-- Incremental rebuild by reporting date: a run rebuilds every report_date that received rows loaded
-- into raw since the previous run (late data for an old day rebuilds that day), using the
-- lineage column loaded_at as the watermark. Models using it are delete+insert on report_date.

{#- The report_dates touched by rows of `source_relation` loaded after this model's newest loaded_at. -#}
{% macro touched_report_dates(source_relation) -%}
    select distinct report_date
    from {{ source_relation }}
    where loaded_at > (
        select coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }}
    )
{%- endmacro %}

{#- Rows whose UTC timestamp can fall on a touched local date (a cheap prefilter before the
    time-zone conversion; local dates lie within one day of their UTC dates). -#}
{% macro within_touched_dates(ts_column, source_relation) -%}
    {{ ts_column }} >= (
        select {{ dbt.dateadd('day', -1, 'cast(min(report_date) as ' ~ dbt.type_timestamp() ~ ')') }}
        from ({{ touched_report_dates(source_relation) }}) as touched
    )
    and {{ ts_column }} < (
        select {{ dbt.dateadd('day', 2, 'cast(max(report_date) as ' ~ dbt.type_timestamp() ~ ')') }}
        from ({{ touched_report_dates(source_relation) }}) as touched
    )
{%- endmacro %}


{#- `date_column` falls in one of `months` (first days of months, read at execution): a range the
    scan can prune on plus the exact month test; `false` when there are none. -#}
{% macro in_months(date_column, months) -%}
    {%- set firsts = [] -%}
    {%- for m in months -%}
        {%- do firsts.append("cast('" ~ m ~ "' as date)") -%}
    {%- endfor -%}
    {%- if firsts -%}
        {{ date_column }} >= {{ firsts | min }}
        and {{ date_column }} < {{ dbt.dateadd('month', 1, firsts | max) }}
        and cast({{ dbt.date_trunc('month', date_column) }} as date) in ({{ firsts | join(', ') }})
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}


{#- `name as {{ not_materialized() }} (select …)`: DuckDB materializes a CTE referenced more than
    once — all its rows and columns, before any filter of the query reaches it. A CTE passing a
    big table through (28M agent states at 10M contacts) then costs a full copy per query, and the
    filters that would have pruned it (a new day's dates, a zero-second episode) apply only after.
    Inlined, each reference scans the table with its own filters pushed down. Spark inlines CTEs
    anyway and has no such keyword. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'callcenter')()) }}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}
