-- Reconciliation: fct_abandoned_stints holds exactly fct_queue_stints' abandoned rows. Compared
-- per report date by count, short abandons and summed wait, so a date the incremental run did
-- not rebuild (e.g. one whose abandoned stints all disappeared on a reload) shows up. Returns the
-- dates that differ.
with

stints as (
    select
        report_date,
        count(*) as abandoned,
        sum(case when is_short_abandon then 1 else 0 end) as short_abandoned,
        sum(wait_s) as wait_s
    from {{ ref('fct_queue_stints') }}
    where outcome = 'abandoned'
    group by report_date
),

drill_down as (
    select
        report_date,
        count(*) as abandoned,
        sum(case when is_short_abandon then 1 else 0 end) as short_abandoned,
        sum(wait_s) as wait_s
    from {{ ref('fct_abandoned_stints') }}
    group by report_date
)

select
    coalesce(s.report_date, d.report_date) as report_date,
    s.abandoned as stints_abandoned,
    d.abandoned as drill_down_abandoned
from stints as s
full outer join drill_down as d
    on s.report_date = d.report_date
where
    s.report_date is null
    or d.report_date is null
    or s.abandoned <> d.abandoned
    or s.short_abandoned <> d.short_abandoned
    or abs(coalesce(s.wait_s, 0) - coalesce(d.wait_s, 0)) > 1e-6
