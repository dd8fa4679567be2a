-- The 30-minute interval spine per time zone (46 intervals on a spring-forward day, 50 on a
-- fall-back day, 48 otherwise), keyed by (time_zone, interval_start_utc).
select
    time_zone,
    report_date,
    interval_start_utc,
    interval_end_utc,
    interval_start_local,
    time_of_day,
    weekday,
    interval_of_day,
    intervals_in_day
from {{ ref('int_intervals_generated') }}
