-- Site x 30-minute interval: agents logged in (average concurrent agents over the interval,
-- logged-in seconds / interval seconds) against the minimum cover rule of seeds/min_cover_rules.csv.
-- A rule row with site_code '*' applies to every site without its own rules; a window whose
-- from_time is later than its to_time wraps past midnight.
with

staffed as {{ not_materialized() }} (
    select * from {{ ref('int_agent_intervals_staffed') }}
),

spine as (
    select * from {{ ref('int_intervals_generated') }}
),

rules as (
    select * from {{ ref('min_cover_rules') }}
),

sites as (
    select distinct
        site_code,
        time_zone
    from staffed
),

site_intervals as (
    select
        s.site_code,
        sp.time_zone,
        sp.report_date,
        sp.interval_start_utc,
        sp.interval_start_local,
        sp.time_of_day
    from sites as s
    inner join spine as sp
        on s.time_zone = sp.time_zone
),

logged_in as (
    select
        site_code,
        interval_start_utc,
        sum(logged_in_s) / ({{ var('interval_minutes') }} * 60.0) as agents_logged_in
    from staffed
    group by site_code, interval_start_utc
),

site_rules as (
    select
        si.site_code,
        si.interval_start_utc,
        max(r.min_agents) as min_required
    from site_intervals as si
    inner join rules as r
        on
            (
                si.site_code = r.site_code
                or (r.site_code = '*' and si.site_code not in (select site_code from rules))
            )
            and (
                (r.from_time <= r.to_time and si.time_of_day >= r.from_time and si.time_of_day < r.to_time)
                or (r.from_time > r.to_time and (si.time_of_day >= r.from_time or si.time_of_day < r.to_time))
            )
    group by si.site_code, si.interval_start_utc
),

final as (
    select
        si.site_code,
        si.report_date,
        si.interval_start_local,
        si.interval_start_utc,
        si.time_of_day,
        coalesce(li.agents_logged_in, 0) as agents_logged_in,
        sr.min_required,
        coalesce(coalesce(li.agents_logged_in, 0) < sr.min_required, false) as below_minimum
    from site_intervals as si
    left join logged_in as li
        on si.site_code = li.site_code and si.interval_start_utc = li.interval_start_utc
    left join site_rules as sr
        on si.site_code = sr.site_code and si.interval_start_utc = sr.interval_start_utc
)

select * from final
