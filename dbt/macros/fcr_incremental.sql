-- Incremental repeat-contact (FCR) detection. A contact's repeat columns look forward: they depend
-- on the caller's next contact within W days (var / seed fcr_window_days; repeat_contact_ts is null
-- beyond) and, while that window is still open, on the latest data. So a run that (re)assembles
-- contacts starting at T or later can only change the rows of contacts started from T - W on, and
-- of those still pending at the previous data end. Models using these macros recompute every
-- contact from the earlier of the two bounds on and delete+insert them by contact key.
-- The model's own table must carry contact_start_ts and loaded_at.

{#- The columns that identify a caller for FCR (the LEAD partition). -#}
{% macro fcr_caller_columns() -%}
    {{ return(['caller_key'] + (['first_queue_code'] if var('fcr_same_queue_only') else [])) }}
{%- endmacro %}

{#- The first contact start to recompute, read when the model runs and written as a timestamp
    literal (null when no contact was assembled since {{ this }}'s newest loaded_at). A touched contact counts at its new start and at its start in {{ this }}:
    a start moves later after a file is forgotten and reloaded, and the contacts whose repeat it was
    lie before its old start. Compared with a constant, DuckDB skips the row groups of history outside
    the window in the scan; compared with a subquery it joined every contact of history first
    (int_contacts_repeat_flagged's select on a new day at 10M contacts: 8.1 s -> 2.8 s). -#}
{% macro fcr_recompute_from_ts(contacts, queues) -%}
    {%- set query -%}
        with

        watermark as (
            select
                coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as loaded_before,
                max(contact_start_ts) as previous_data_end_ts
            from {{ this }}
        ),

        touched_now as (
            select
                c.source_system,
                c.contact_id,
                c.contact_start_ts
            from {{ contacts }} as c
            where c.loaded_at > (select w.loaded_before from watermark as w)
        ),

        touched as (
            select contact_start_ts from touched_now
            union all
            select old.contact_start_ts
            from {{ this }} as old
            inner join touched_now as t
                on old.source_system = t.source_system and old.contact_id = t.contact_id
        ),

        longest_window as (
            select
                greatest(
                    {{ var('default_fcr_window_days') }},
                    coalesce(max(q.fcr_window_days), {{ var('default_fcr_window_days') }})
                ) as window_days
            from {{ queues }} as q
        )

        select
            -- no touched contact: nothing to recompute (the data end did not move either)
            case when count(t.contact_start_ts) > 0 then
                {{ dbt.dateadd(
                    'day',
                    '-1 * max(lw.window_days)',
                    'least(min(t.contact_start_ts), coalesce(max(w.previous_data_end_ts), min(t.contact_start_ts)))'
                ) }}
            end as recompute_from_ts
        from watermark as w
        cross join longest_window as lw
        left join touched as t on 1 = 1
    {%- endset -%}
    {%- set value = run_query(query).rows[0][0] if execute else none -%}
    {{ return("cast(" ~ ("'" ~ value ~ "'" if value is not none else "null") ~ " as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}


{#- A query of (source_system, contact_id): the contacts of `contacts` (int_contacts_assembled)
    whose FCR columns this run must recompute. Call it only inside is_incremental(). -#}
{% macro fcr_recompute_keys(contacts, queues) -%}
    select c.source_system, c.contact_id
    from {{ contacts }} as c
    where c.contact_start_ts >= {{ fcr_recompute_from_ts(contacts, queues) }}
{%- endmacro %}


{#- The report dates a daily contact aggregate must rebuild: dates of fact rows (fct_contacts) loaded
    since {{ this }}'s newest loaded_at, plus, when `with_fcr_window`, every date from W + 2 days
    before the earliest newly assembled contact (or the previous last date, whose pending contacts
    can resolve); the 2 extra days cover local dates vs UTC timestamps across sites. `last_date_column`
    names {{ this }}'s latest report date when the table is not by report_date. -#}
{% macro contact_report_dates_to_rebuild(facts, contacts, queues, with_fcr_window, last_date_column='report_date') -%}
    select f.report_date
    from {{ facts }} as f
    where f.loaded_at > (
        select coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }}
    )
    {%- if with_fcr_window %}
        union
        select f.report_date
        from {{ facts }} as f
        where f.report_date >= (
            select
                {{ dbt.dateadd(
                    'day',
                    '-2 - greatest(' ~ var('default_fcr_window_days') ~ ', coalesce((select max(q.fcr_window_days) from '
                    ~ queues ~ ' as q), ' ~ var('default_fcr_window_days') ~ '))',
                    'least(min(c.report_date), coalesce((select max(old.' ~ last_date_column ~ ') from ' ~ this
                    ~ ' as old), min(c.report_date)))'
                ) }}
            from {{ contacts }} as c
            where c.loaded_at > (
                select coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }}
            )
        )
    {%- endif %}
{%- endmacro %}


{#- is_incremental(), and {{ this }} already has `columns` (the watermark): a table built before
    those columns existed is rebuilt in full once (delete+insert of every key) instead of failing. -#}
{% macro is_incremental_with(columns) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- for column in columns -%}
        {%- if column | lower not in existing -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}
