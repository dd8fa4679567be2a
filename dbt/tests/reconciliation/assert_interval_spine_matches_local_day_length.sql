-- Every local day of the spine has exactly as many intervals as its length in UTC allows
-- (46 on a spring-forward day, 50 on a fall-back day, 48 otherwise). Returns offending days.
select
    time_zone,
    report_date,
    count(*) as intervals,
    max(intervals_in_day) as expected_intervals
from {{ ref('dim_intervals') }}
group by time_zone, report_date
having count(*) <> max(intervals_in_day) or max(intervals_in_day) not in (46, 48, 50)
