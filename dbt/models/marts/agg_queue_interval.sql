-- Queue x site-local 30-minute interval: volumes by outcome, waits, handle sums and the numerator
-- and denominator of every service-level variant. Queue metrics sit in the interval of queue
-- entry; handle time in the interval of answer. Every interval of the spine appears for every
-- queue with traffic, so quiet intervals show zeros instead of disappearing.
-- Incremental: a run rebuilds the report dates whose stints or legs were (re)loaded.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='report_date',
        on_schema_change='sync_all_columns'
    )
}}

with

stints as {{ not_materialized() }} (
    select * from {{ ref('fct_queue_stints') }}
),

legs as (
    select * from {{ ref('fct_agent_segments') }}
    where queue_code is not null
),

queues as (
    select * from {{ ref('int_queues_configured') }}
),

spine as (
    select * from {{ ref('int_intervals_generated') }}
    {% if is_incremental() %}
        where
            report_date in ({{ touched_report_dates(ref('fct_queue_stints')) }})
            or report_date in ({{ touched_report_dates(ref('fct_agent_segments')) }})
    {% endif %}
),

queue_intervals as (
    select
        q.queue_code,
        q.site_code,
        sp.report_date,
        sp.interval_start_local,
        sp.interval_start_utc,
        sp.weekday,
        sp.time_of_day
    from queues as q
    inner join spine as sp
        on q.time_zone = sp.time_zone
    where q.queue_code in (select st.queue_code from stints as st)
),

stint_totals as (
    select
        queue_code,
        interval_start_utc,
        count(*) as offered,
        sum(case when outcome = 'answered' then 1 else 0 end) as answered,
        sum(case when outcome = 'abandoned' then 1 else 0 end) as abandoned,
        sum(case when is_short_abandon then 1 else 0 end) as short_abandoned,
        sum(case when outcome = 'timeout' then 1 else 0 end) as timeout,
        sum(case when outcome = 'exit_key' then 1 else 0 end) as exit_key,
        sum(case when outcome = 'overflow' then 1 else 0 end) as overflow,
        sum(case when outcome = 'error' then 1 else 0 end) as error,
        sum(case when is_transferred_out then 1 else 0 end) as transferred_out,
        sum(case when answered_within_t then 1 else 0 end) as answered_within_t,
        sum(case when abandoned_within_t then 1 else 0 end) as abandoned_within_t,
        sum(case when outcome = 'answered' then wait_s else 0 end) as wait_answered_s,
        sum(case when outcome = 'abandoned' then wait_s else 0 end) as wait_abandoned_s,
        max(loaded_at) as loaded_at
    from stints
    group by queue_code, interval_start_utc
),

leg_totals as (
    select
        queue_code,
        interval_start_utc,
        count(*) as handled,
        sum(handle_s) as handle_s,
        sum(talk_s) as talk_s,
        sum(hold_s) as hold_s,
        sum(acw_s) as acw_s,
        sum(case when acw_missing then 1 else 0 end) as acw_missing,
        sum(case when has_hold then 1 else 0 end) as held,
        max(loaded_at) as loaded_at
    from legs
    group by queue_code, interval_start_utc
),

joined as (
    select
        qi.queue_code,
        qi.site_code,
        qi.report_date,
        qi.interval_start_local,
        qi.interval_start_utc,
        qi.weekday,
        qi.time_of_day,
        coalesce(st.offered, 0) as offered,
        coalesce(st.answered, 0) as answered,
        coalesce(st.abandoned, 0) as abandoned,
        coalesce(st.short_abandoned, 0) as short_abandoned,
        coalesce(st.timeout, 0) as timeout,
        coalesce(st.exit_key, 0) as exit_key,
        coalesce(st.overflow, 0) as overflow,
        coalesce(st.error, 0) as error,
        coalesce(st.transferred_out, 0) as transferred_out,
        coalesce(st.answered_within_t, 0) as answered_within_t,
        coalesce(st.abandoned_within_t, 0) as abandoned_within_t,
        coalesce(st.wait_answered_s, 0) as wait_answered_s,
        coalesce(st.wait_abandoned_s, 0) as wait_abandoned_s,
        coalesce(lt.handled, 0) as handled,
        coalesce(lt.handle_s, 0) as handle_s,
        coalesce(lt.talk_s, 0) as talk_s,
        coalesce(lt.hold_s, 0) as hold_s,
        coalesce(lt.acw_s, 0) as acw_s,
        coalesce(lt.acw_missing, 0) as acw_missing,
        coalesce(lt.held, 0) as held,
        -- newest raw load behind the row: the watermark of the incremental rebuild
        case when lt.loaded_at > st.loaded_at or st.loaded_at is null then lt.loaded_at else st.loaded_at end
            as loaded_at
    from queue_intervals as qi
    left join stint_totals as st
        on qi.queue_code = st.queue_code and qi.interval_start_utc = st.interval_start_utc
    left join leg_totals as lt
        on qi.queue_code = lt.queue_code and qi.interval_start_utc = lt.interval_start_utc
),

measured as (
    select
        *,
        answered_within_t as sl_num,
        offered - short_abandoned as sl_den,
        answered_within_t as sl_ignore_num,
        offered - abandoned_within_t as sl_ignore_den,
        answered_within_t as sl_negative_num,
        offered as sl_negative_den,
        answered_within_t + abandoned_within_t as sl_positive_num,
        offered as sl_positive_den,
        answered_within_t as sl_answered_num,
        answered as sl_answered_den,
        answered as answer_rate_num,
        offered as answer_rate_den,
        abandoned - short_abandoned as abandon_rate_num,
        offered - short_abandoned as abandon_rate_den,
        wait_answered_s as asa_num,
        answered as asa_den,
        handle_s as aht_num,
        handled as aht_den,
        offered = answered + abandoned + timeout + exit_key + overflow + error as reconciles
    from joined
),

final as (
    select
        *,
        {{ queue_ratio_columns() }}
    from measured
)

select * from final
