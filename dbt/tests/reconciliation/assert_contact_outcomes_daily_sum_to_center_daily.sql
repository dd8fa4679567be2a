-- Reconciliation: agg_contact_outcomes_daily summed over queues and sites equals agg_center_daily's
-- contact measures on every reporting date (the executive overview shows the same numbers whether
-- filtered by queue/site or not). agg_center_daily is that roll-up; this guards it against a second
-- definition creeping back and against days lost in its join with the queue totals.
-- Returns the dates that differ.
with

by_queue_and_site as (
    select
        report_date,
        sum(contacts) as contacts,
        sum(handled_contacts) as handled_contacts,
        sum(complaint_num) as complaint_num,
        sum(complaint_den) as complaint_den,
        sum(transfer_num) as transfer_num,
        sum(transfer_den) as transfer_den,
        sum(fcr_num) as fcr_num,
        sum(fcr_den) as fcr_den,
        sum(fcr_pending) as fcr_pending,
        sum(csat_num) as csat_num,
        sum(csat_den) as csat_den,
        sum(nps_promoters) as nps_promoters,
        sum(nps_detractors) as nps_detractors,
        sum(nps_responses) as nps_responses
    from {{ ref('agg_contact_outcomes_daily') }}
    group by report_date
),

center as (
    select * from {{ ref('agg_center_daily') }}
    -- days with queue traffic but no contact row carry zero contact measures
    where contacts > 0
)

select
    coalesce(c.report_date, s.report_date) as report_date,
    c.contacts as center_contacts,
    s.contacts as summed_contacts
from center as c
full outer join by_queue_and_site as s
    on c.report_date = s.report_date
where
    c.report_date is null
    or s.report_date is null
    {%- for measure in ['contacts', 'handled_contacts', 'complaint_num', 'complaint_den', 'transfer_num',
        'transfer_den', 'fcr_num', 'fcr_den', 'fcr_pending', 'csat_num', 'csat_den', 'nps_promoters',
        'nps_detractors', 'nps_responses'] %}
        or c.{{ measure }} <> s.{{ measure }}
    {%- endfor %}
