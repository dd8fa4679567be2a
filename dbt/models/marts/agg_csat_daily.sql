-- Customer survey results per handling queue and reporting date of the surveyed contact.
-- CSAT is top-2-box (4 or 5 of 1-5) with its Wilson 95% interval; the mean score is kept apart
-- (csat_sum / csat_n). Cells with fewer than var survey_min_n scores are flagged low_n.
-- Incremental: a run rebuilds the report dates of the contacts fct_contacts has (re)written since
-- the previous run (written_at; macros/fcr_incremental.sql): new, reloaded or newly surveyed
-- contacts and the trailing FCR window before them.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='report_date',
        on_schema_change='sync_all_columns'
    )
}}

with

contacts as (
    select * from {{ ref('fct_contacts') }}
    where
        is_handled
        {%- if is_incremental_with(['written_at']) %}
            and report_date in (
                {{ contact_report_dates_to_rebuild(ref('fct_contacts')) }}
            )
        {%- endif %}
),

counted as (
    select
        coalesce(last_queue_code, first_queue_code) as queue_code,
        report_date,
        count(*) as handled,
        sum(case when has_survey then 1 else 0 end) as responses,
        sum(case when csat >= 4 then 1 else 0 end) as csat_top2,
        sum(coalesce(csat, 0)) as csat_sum,
        sum(case when csat is not null then 1 else 0 end) as csat_n,
        sum(case when nps >= 9 then 1 else 0 end) as nps_promoters,
        sum(case when nps between 7 and 8 then 1 else 0 end) as nps_passives,
        sum(case when nps <= 6 then 1 else 0 end) as nps_detractors,
        sum(case when nps is not null then 1 else 0 end) as nps_n,
        max(loaded_at) as loaded_at,
        max(written_at) as written_at
    from contacts
    group by coalesce(last_queue_code, first_queue_code), report_date
),

final as (
    select
        queue_code,
        report_date,
        handled,
        responses,
        csat_top2,
        csat_sum,
        csat_n,
        nps_promoters,
        nps_passives,
        nps_detractors,
        nps_n,
        responses as response_rate_num,
        handled as response_rate_den,
        {{ safe_ratio('csat_top2', 'csat_n') }} as csat_top2_rate,
        {{ safe_ratio('csat_sum', 'csat_n') }} as csat_mean,
        {{ safe_ratio('nps_promoters - nps_detractors', 'nps_n') }} * 100 as nps,
        round({{ wilson_bound('csat_top2', 'csat_n', '-') }}, 6) as csat_wilson_low,
        round({{ wilson_bound('csat_top2', 'csat_n', '+') }}, 6) as csat_wilson_high,
        csat_n < {{ var('survey_min_n') }} as low_n,
        -- newest raw load behind the row (lineage)
        loaded_at,
        -- newest fct_contacts write behind the row: the watermark of the incremental rebuild
        written_at
    from counted
)

select * from final
