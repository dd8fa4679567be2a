-- The 30-minute interval spine: one row per time zone and interval of each local day, keyed by
-- the interval's UTC start (unambiguous on the fall-back day, when local 01:00-02:00 occurs twice).
with

days as (
    select * from {{ ref('int_local_days_bounded') }}
),

expanded as (
    select
        time_zone,
        local_date as report_date,
        intervals_in_day,
        {{ timestamp_series(
            'day_start_utc',
            dbt.dateadd('minute', '-' ~ var('interval_minutes'), 'day_end_utc'),
            var('interval_minutes')
        ) }} as interval_start_utc
    from days
),

described as (
    select
        time_zone,
        report_date,
        intervals_in_day,
        cast(interval_start_utc as {{ dbt.type_timestamp() }}) as interval_start_utc,
        cast({{ dbt.dateadd('minute', var('interval_minutes'), 'interval_start_utc') }} as {{ dbt.type_timestamp() }})
            as interval_end_utc,
        cast({{ utc_to_local('interval_start_utc', 'time_zone') }} as {{ dbt.type_timestamp() }})
            as interval_start_local
    from expanded
),

final as (
    select
        time_zone,
        report_date,
        interval_start_utc,
        interval_end_utc,
        interval_start_local,
        {{ time_of_day('interval_start_local') }} as time_of_day,
        {{ day_of_week('report_date') }} as weekday,
        row_number() over (partition by time_zone, report_date order by interval_start_utc) as interval_of_day,
        intervals_in_day
    from described
)

select * from final
