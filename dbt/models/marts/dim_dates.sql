-- One row per reporting date covered by the data (site-local dates of every time zone in use).
with

dates as (
    select distinct local_date as report_date from {{ ref('int_local_days_bounded') }}
),

final as (
    select
        report_date,
        cast({{ dbt.date_trunc('month', 'report_date') }} as date) as month,
        cast({{ dbt.date_trunc('week', 'report_date') }} as date) as week_start,
        cast(extract(year from report_date) as {{ dbt.type_int() }}) as year,
        cast(extract(month from report_date) as {{ dbt.type_int() }}) as month_of_year,
        cast(extract(day from report_date) as {{ dbt.type_int() }}) as day_of_month,
        {{ day_of_week('report_date') }} as weekday,
        case {{ day_of_week('report_date') }}
            when 1 then '星期一' when 2 then '星期二' when 3 then '星期三' when 4 then '星期四'
            when 5 then '星期五' when 6 then '星期六' else '星期日'
        end as weekday_zh,
        {{ day_of_week('report_date') }} >= 6 as is_weekend
    from dates
)

select * from final
