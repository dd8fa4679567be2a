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
    literal (null when no contact was assembled since {{ this }}'s newest loaded_at). A touched
    contact counts at its new start and at its start in {{ this }}: a start moves later after a file
    is forgotten and reloaded, and the contacts whose repeat it was lie before its old start.
    Compared with a constant, DuckDB skips the row groups of history outside the window in the scan;
    compared with a subquery it joined every contact of history first (int_contacts_repeat_flagged's
    select on a new day at 10M contacts: 8.1 s -> 2.8 s). -#}
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


{#- The start of this dbt invocation, as a timestamp literal: fct_contacts stamps every row it
    (re)writes with it (written_at), so the models reading it can rebuild exactly what changed. -#}
{% macro invocation_started_ts() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- The report dates a daily contact aggregate must rebuild: those of the fact rows (fct_contacts)
    written since {{ this }} last read them, by written_at against {{ this }}'s newest. fct_contacts
    rewrites every contact a run can change: new and reloaded ones, the trailing FCR window before
    them (from before a moved contact's old start too: fcr_recompute_from_ts) and those with a new
    survey answer. The aggregates follow what it wrote instead of working the window out again. -#}
{% macro contact_report_dates_to_rebuild(facts) -%}
    select distinct f.report_date
    from {{ facts }} as f
    where f.written_at > (
        select coalesce(max(prev.written_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }} as prev
    )
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
