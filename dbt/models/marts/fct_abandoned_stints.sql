-- Abandoned queue stints: fct_queue_stints' rows with outcome 'abandoned', only the columns the
-- service-level dashboard's abandoned-contacts drill-down shows or filters on. The drill-down is a
-- "latest 100" top-N on a fresh connection per query: on the 10M-row stints table DuckDB walks the
-- metadata of every row group (~30 ms at 10M contacts) even when the sort order lets it read two;
-- on this ~10x smaller table published newest first it reads a handful.
-- Incremental: a run rebuilds the report dates of stints loaded since the previous run (the same
-- dates fct_queue_stints rebuilt; touched_report_dates in macros/incremental.sql). Counts per date
-- are reconciled with fct_queue_stints by the data test assert_abandoned_stints_match_queue_stints.
-- The dates are read first and written into the query as constants (touched_report_date_list): as a
-- subquery, DuckDB put every abandoned stint of history (all columns) on the build side of a semi
-- join once the table was large (its estimate of the loaded_at comparison), instead of filtering
-- the scan by date.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='report_date',
        on_schema_change='sync_all_columns'
    )
}}

with

stints as {{ not_materialized() }} (
    select * from {{ ref('fct_queue_stints') }}
),

final as (
    select
        source_system,
        contact_id,
        segment_seq,
        queue_code,
        site_code,
        report_date,
        interval_start_local,
        wait_s,
        is_short_abandon,
        caller_key,
        loaded_at
    from stints
    where
        outcome = 'abandoned'
        {% if is_incremental_with(['loaded_at']) %}
            and report_date in ({{ touched_report_date_list(ref('fct_queue_stints')) }})
        {% endif %}
)

select * from final
