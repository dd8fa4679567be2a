-- First-contact resolution per handling queue (the contact's last queue) and reporting date,
-- three ways side by side. Repeat-based FCR excludes pending contacts (window still open) and
-- contacts without a caller key from its denominator.
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
        is_handled and direction = 'inbound'
        {%- if is_incremental_with(['written_at']) %}
            and report_date in (
                {{ contact_report_dates_to_rebuild(ref('fct_contacts')) }}
            )
        {%- endif %}
),

final as (
    select
        coalesce(last_queue_code, first_queue_code) as queue_code,
        report_date,
        count(*) as handled,
        sum(case when fcr_status = 'resolved' then 1 else 0 end) as fcr_repeat_num,
        sum(case when fcr_status in ('resolved', 'repeat') then 1 else 0 end) as fcr_repeat_den,
        sum(case when fcr_status = 'repeat' then 1 else 0 end) as repeat_num,
        sum(case when fcr_status = 'pending' then 1 else 0 end) as pending,
        sum(case when fcr_status = 'no_caller_key' then 1 else 0 end) as no_caller_key,
        sum(case when survey_resolved then 1 else 0 end) as fcr_survey_num,
        sum(case when survey_resolved is not null then 1 else 0 end) as fcr_survey_den,
        sum(case when agent_resolved then 1 else 0 end) as fcr_agent_num,
        sum(case when agent_resolved is not null then 1 else 0 end) as fcr_agent_den,
        -- newest raw load behind the row (lineage)
        max(loaded_at) as loaded_at,
        -- newest fct_contacts write behind the row: the watermark of the incremental rebuild
        max(written_at) as written_at
    from contacts
    group by coalesce(last_queue_code, first_queue_code), report_date
)

select * from final
