-- Reconciliation: agg_center_daily's contact measures, rolled up from agg_contact_outcomes_daily,
-- count every contact of fct_contacts once per reporting date — recounted here straight from the
-- facts, so a day lost in the roll-up's joins or a contact counted under two queues shows up.
-- Returns the dates that differ.
with

facts as (
    select
        report_date,
        count(*) as contacts,
        sum(case when is_handled then 1 else 0 end) as handled_contacts
    from {{ ref('fct_contacts') }}
    group by report_date
),

center as (
    select * from {{ ref('agg_center_daily') }}
    -- days with queue traffic but no contact row carry zero contact measures
    where contacts > 0
)

select
    coalesce(c.report_date, f.report_date) as report_date,
    c.contacts as center_contacts,
    f.contacts as fact_contacts
from center as c
full outer join facts as f
    on c.report_date = f.report_date
where
    c.report_date is null
    or f.report_date is null
    or c.contacts <> f.contacts
    or c.handled_contacts <> f.handled_contacts
