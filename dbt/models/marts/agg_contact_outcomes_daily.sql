-- Contact-grain customer outcomes per reporting date, handling queue (the contact's last queue,
-- else its first) and site: complaint, transfer, FCR, CSAT and NPS numerators and denominators,
-- so a dashboard filtered by queue or site sums a few rows instead of scanning fct_contacts.
-- agg_center_daily is their sum over queues and sites (the one definition of these measures;
-- tests/reconciliation/assert_contact_outcomes_daily_sum_to_center_daily.sql guards it).
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
    {%- if is_incremental_with(['written_at']) %}
        where report_date in (
            {{ contact_report_dates_to_rebuild(ref('fct_contacts')) }}
        )
    {%- endif %}
),

final as (
    select
        report_date,
        coalesce(last_queue_code, first_queue_code) as queue_code,
        site_code,
        count(*) as contacts,
        sum(case when is_handled then 1 else 0 end) as handled_contacts,
        sum(case when is_handled and complaint then 1 else 0 end) as complaint_num,
        sum(case when is_handled then 1 else 0 end) as complaint_den,
        sum(case when is_handled and transferred then 1 else 0 end) as transfer_num,
        sum(case when is_handled then 1 else 0 end) as transfer_den,
        sum(case when fcr_status = 'resolved' then 1 else 0 end) as fcr_num,
        sum(case when fcr_status in ('resolved', 'repeat') then 1 else 0 end) as fcr_den,
        sum(case when fcr_status = 'pending' then 1 else 0 end) as fcr_pending,
        sum(case when csat >= 4 then 1 else 0 end) as csat_num,
        sum(case when csat is not null then 1 else 0 end) as csat_den,
        sum(case when nps >= 9 then 1 else 0 end) as nps_promoters,
        sum(case when nps <= 6 then 1 else 0 end) as nps_detractors,
        sum(case when nps is not null then 1 else 0 end) as nps_responses,
        -- newest raw load behind the row (lineage)
        max(loaded_at) as loaded_at,
        -- newest fct_contacts write behind the row: the watermark of the incremental rebuild
        max(written_at) as written_at
    from contacts
    group by report_date, coalesce(last_queue_code, first_queue_code), site_code
)

select * from final
