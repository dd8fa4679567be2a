"""A small serving.duckdb with the marts contract's tables (docs/marts.md), for dashboard tests.

Deterministic, tiny (2 queues × 14 days × 24 intervals), built with plain SQL so every number a
dashboard shows can be recomputed from it. Used until/unless the real pipeline output is
available (see conftest.py); the dashboards must render either.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SQL = r"""
create schema marts;

create table marts.agg_queue_interval as
with spine as (
    select q.queue_code, q.site_code, d::date as report_date, i as slot
    from (values ('presales', 'sha'), ('intl_support', 'lon')) q(queue_code, site_code),
         range(date '2026-10-01', date '2026-10-15', interval 1 day) t(d),
         range(16, 40) s(i)
), base as (
    select *,
        report_date + slot * interval 30 minute as interval_start_local,
        (10 + (slot * 7 + day(report_date) * 3) % 23)::bigint as offered,
        ((slot * 5 + day(report_date)) % 4)::bigint as abandoned,
        ((slot + day(report_date)) % 2)::bigint as short_abandoned
    from spine
)
select queue_code, site_code, report_date, interval_start_local,
    interval_start_local - interval 8 hour as interval_start_utc,
    strftime(report_date, '%u-%a') as weekday, strftime(interval_start_local, '%H:%M') as time_of_day,
    offered, offered - abandoned as answered, abandoned, short_abandoned,
    0::bigint as timeout, 0::bigint as exit_key, 0::bigint as overflow, 0::bigint as error,
    ((offered - abandoned) * (60 + slot % 30) // 100)::bigint as answered_within_t,
    (abandoned // 2)::bigint as abandoned_within_t,
    ((offered - abandoned) * (8 + slot % 9))::bigint as wait_answered_s,
    (abandoned * 25)::bigint as wait_abandoned_s,
    (offered - abandoned)::bigint as handled,
    ((offered - abandoned) * 240)::bigint as handle_s,
    ((offered - abandoned) * 180)::bigint as talk_s,
    ((offered - abandoned) * 20)::bigint as hold_s,
    ((offered - abandoned) * 40)::bigint as acw_s
from base;

alter table marts.agg_queue_interval add column sl_num double;
alter table marts.agg_queue_interval add column sl_den double;
update marts.agg_queue_interval set sl_num = answered_within_t, sl_den = offered - short_abandoned;
create or replace table marts.agg_queue_interval as
select *,
    answered_within_t::double as sl_ignore_num, (offered - abandoned_within_t)::double as sl_ignore_den,
    answered_within_t::double as sl_negative_num, offered::double as sl_negative_den,
    (answered_within_t + abandoned_within_t)::double as sl_positive_num, offered::double as sl_positive_den,
    answered_within_t::double as sl_answered_num, answered::double as sl_answered_den,
    answered::double as answer_rate_num, offered::double as answer_rate_den,
    (abandoned - short_abandoned)::double as abandon_rate_num, (offered - short_abandoned)::double as abandon_rate_den,
    wait_answered_s::double as asa_num, answered::double as asa_den,
    handle_s::double as aht_num, handled::double as aht_den,
    true as reconciles
from marts.agg_queue_interval;

create table marts.agg_queue_daily as
select queue_code, site_code, report_date,
    sum(columns(* exclude (queue_code, site_code, report_date, interval_start_local, interval_start_utc,
                           weekday, time_of_day, reconciles))),
    0.8 as sl_target, 20::bigint as sl_threshold_s
from marts.agg_queue_interval group by all;

create table marts.agg_fcr_daily as
select queue_code, report_date,
    round(handled * 0.72) as fcr_repeat_num, handled::double as fcr_repeat_den, 3::bigint as pending,
    10.0 as fcr_survey_num, 13.0 as fcr_survey_den, round(handled * 0.8) as fcr_agent_num, handled::double as fcr_agent_den
from marts.agg_queue_daily;

create table marts.agg_csat_daily as
select queue_code, report_date, 14::bigint as responses,
    (10 + day(report_date) % 3)::bigint as csat_top2, (14 * 4)::bigint as csat_sum, 14::bigint as csat_n,
    7::bigint as nps_promoters, 4::bigint as nps_passives, 3::bigint as nps_detractors, 14::bigint as nps_n,
    handled, 14.0 as response_rate_num, handled::double as response_rate_den,
    0.5 as csat_wilson_low, 0.9 as csat_wilson_high, true as low_n
from marts.agg_queue_daily;

create table marts.fct_queue_stints as
select 'c' || queue_code || strftime(interval_start_local, '%Y%m%d%H%M') || '-' || k as contact_id,
    1::bigint as segment_seq, queue_code, site_code, report_date, interval_start_local,
    case when k < abandoned then 'abandoned' else 'answered' end as outcome,
    k < short_abandoned as is_short_abandon, (5 + k * 7)::double as wait_s,
    k >= abandoned and k < abandoned + answered_within_t as answered_within_t,
    k < abandoned_within_t as abandoned_within_t,
    sha256('caller' || (k * 31 + hour(interval_start_local)) % 97) as caller_key
from marts.agg_queue_interval, range(0, 40) r(k)
where k < offered;

create table marts.fct_abandoned_stints as
select 'canonical' as source_system, contact_id, segment_seq, queue_code, site_code, report_date,
    interval_start_local, wait_s, is_short_abandon, caller_key, now()::timestamp as loaded_at
from marts.fct_queue_stints where outcome = 'abandoned' order by interval_start_local desc;

create table marts.fct_contacts as
select contact_id, 'voice' as channel, queue_code as first_queue_code, queue_code as last_queue_code, site_code,
    report_date, interval_start_local, caller_key, outcome, wait_s, 180.0 as talk_s, 20.0 as hold_s, 40.0 as acw_s,
    240.0 as handle_s, 1::bigint as agent_segments, outcome = 'answered' as is_handled,
    outcome = 'answered' and hash(contact_id) % 10 = 0 as transferred,
    outcome = 'answered' and hash(contact_id) % 50 = 0 as complaint,
    ['billing', 'delay', 'rude_agent', 'product'][(1 + hash(contact_id) % 4)::bigint] as disposition,
    false as is_repeat_within_window,
    case when outcome <> 'answered' then 'not_handled'
         when hash(contact_id) % 7 = 0 then 'repeat' when hash(contact_id) % 11 = 0 then 'pending'
         else 'resolved' end as fcr_status,
    case when outcome = 'answered' and hash(contact_id) % 4 = 0 then (1 + hash(contact_id) % 5)::integer end as csat,
    case when outcome = 'answered' and hash(contact_id) % 5 = 0 then (hash(contact_id) % 11)::integer end as nps,
    null::boolean as survey_resolved, null::boolean as agent_resolved
from marts.fct_queue_stints;

create table marts.fct_agent_segments as
select 'asterisk' as source_system, contact_id, 1::bigint as segment_seq, 'A00' || (1 + hash(contact_id) % 6) as agent_id,
    first_queue_code as queue_code, site_code, report_date, interval_start_local, 'voice' as channel,
    'inbound' as direction, null::varchar as transfer_type, disposition, talk_s, hold_s, acw_s, false as acw_missing,
    handle_s, true as has_hold, complaint, null::boolean as agent_resolved
from marts.fct_contacts where outcome = 'answered';

-- Contact measures per handling queue and site with the dbt definitions
-- (agg_contact_outcomes_daily.sql); the center's are their sums, as the dbt data test requires.
create table marts.agg_contact_outcomes_daily as
select report_date, coalesce(last_queue_code, first_queue_code) as queue_code, site_code, count(*) as contacts,
    count(*) filter (where is_handled) as handled_contacts,
    count(*) filter (where is_handled and complaint) as complaint_num,
    count(*) filter (where is_handled) as complaint_den,
    count(*) filter (where is_handled and transferred) as transfer_num,
    count(*) filter (where is_handled) as transfer_den,
    count(*) filter (where fcr_status = 'resolved') as fcr_num,
    count(*) filter (where fcr_status in ('resolved', 'repeat')) as fcr_den,
    count(*) filter (where fcr_status = 'pending') as fcr_pending,
    count(*) filter (where csat >= 4) as csat_num, count(csat) as csat_den,
    count(*) filter (where nps >= 9) as nps_promoters, count(*) filter (where nps <= 6) as nps_detractors,
    count(nps) as nps_responses, timestamp '2026-10-15 02:00' as loaded_at
from marts.fct_contacts group by all;

create table marts.agg_center_daily as
with queue_totals as (
    select report_date,
        sum(columns(* exclude (queue_code, site_code, report_date, sl_target, sl_threshold_s))),
        sum(handled) * 0.3 as hold_rate_num, sum(handled)::double as hold_rate_den
    from marts.agg_queue_daily group by report_date
), contact_totals as (
    select report_date, sum(columns(* exclude (report_date, queue_code, site_code, loaded_at)))
    from marts.agg_contact_outcomes_daily group by report_date
)
select * from queue_totals join contact_totals using (report_date);

-- Complaints by reason with the dbt definition (agg_complaints_daily.sql): once per contact and
-- reason, at its first complaint segment with that reason.
create table marts.agg_complaints_daily as
select report_date, queue_code, site_code, disposition, count(*) as complaint_contacts,
    timestamp '2026-10-15 02:00' as loaded_at
from (
    select * from marts.fct_agent_segments where complaint
    qualify row_number() over (partition by source_system, contact_id, disposition order by segment_seq) = 1
)
group by report_date, queue_code, site_code, disposition;

create table marts.agg_staffing_interval as
select queue_code, site_code, report_date, interval_start_local, isodow(report_date)::bigint as weekday, time_of_day,
    offered::double as offered,
    240.0 as aht_s,
    offered * 240.0 / 1800 as traffic_erlangs, ceil(offered * 240.0 / 1800) + 2 as required_agents_c,
    ceil(offered * 240.0 / 1800) + 1 as required_agents_a, 0.3 as shrinkage,
    ceil((ceil(offered * 240.0 / 1800) + 2) / 0.7) as required_scheduled,
    (4 + hour(interval_start_local) % 3)::double as scheduled_agents, (3 + hour(interval_start_local) % 4)::double as logged_in_agents
from marts.agg_queue_interval;

create table marts.agg_agent_daily as
select 'A' || lpad(a::varchar, 3, '0') as agent_id, '坐席' || a as agent_name,
    case when a <= 3 then 'team_a' else 'team_b' end as team, 'sup' || (a % 2) as supervisor,
    case when a <= 4 then 'sha' else 'lon' end as site_code, d::date as report_date,
    (40 + a * 3 + day(d) % 5)::double as handled, 0.0 as talk_s, 0.0 as hold_s, 0.0 as acw_s,
    ((40 + a * 3 + day(d) % 5) * (200 + a * 15))::double as handle_s, 28800.0 as logged_in_s, 5000.0 as available_s,
    1800.0 as not_ready_s, 28800.0 as scheduled_s,
    ((40 + a * 3 + day(d) % 5) * (200 + a * 15))::double as occupancy_num,
    ((40 + a * 3 + day(d) % 5) * (200 + a * 15) + 5000)::double as occupancy_den,
    ((40 + a * 3 + day(d) % 5) * (200 + a * 15))::double as utilization_num, 28800.0 as utilization_den,
    (25000 + a * 300)::double as adherence_num, 28800.0 as adherence_den,
    (27000 + a * 100)::double as conformance_num, 28800.0 as conformance_den,
    (day(d) + a) % 9 = 0 as late_login, (day(d) + a) % 11 = 0 as early_logout, (day(d) * a) % 13 = 0 as absent,
    ((day(d) + a) % 3)::bigint as long_not_ready_count, ((day(d) + a) % 10 = 0)::bigint as complaints
from range(1, 7) t(a), range(date '2026-10-01', date '2026-10-15', interval 1 day) s(d);

-- The agent-performance dashboard's marts, with the dbt definitions (agg_team_daily.sql,
-- agg_agent_monthly.sql): sums of agg_agent_daily by team x site x day and by agent x month.
create table marts.agg_team_daily as
select report_date, team, site_code, count(*) as agent_days, sum(handled) as handled, sum(talk_s) as talk_s,
    sum(handle_s) as handle_s, sum(occupancy_num) as occupancy_num, sum(occupancy_den) as occupancy_den,
    sum(utilization_num) as utilization_num, sum(utilization_den) as utilization_den,
    sum(adherence_num) as adherence_num, sum(adherence_den) as adherence_den,
    sum(conformance_num) as conformance_num, sum(conformance_den) as conformance_den, sum(scheduled_s) as scheduled_s,
    sum(late_login::int)::bigint as late_logins, sum(early_logout::int)::bigint as early_logouts, sum(absent::int)::bigint as absences,
    sum(long_not_ready_count)::bigint as long_not_ready_count
from marts.agg_agent_daily group by report_date, team, site_code;

create table marts.agg_agent_monthly as
select date_trunc('month', report_date)::date as month, agent_id, agent_name, team, site_code, count(*) as days,
    sum(handled) as handled, sum(talk_s) as talk_s, sum(handle_s) as handle_s,
    sum(late_login::int)::bigint as late_logins, sum(early_logout::int)::bigint as early_logouts, sum(absent::int)::bigint as absences,
    sum(long_not_ready_count)::bigint as long_not_ready_count
from marts.agg_agent_daily group by all;

create table marts.agg_agent_monthly_scorecard as
select date '2026-10-01' as month, agent_id, any_value(agent_name) as agent_name, any_value(team) as team,
    sum(handled) as handled, 180.0 as avg_talk_s, 185.0 as center_avg_talk_s,
    sum(handle_s) / sum(handled) as aht_s, 250.0 as center_aht_s, 5.0 as talk_score, 3.0 as aht_score,
    10.0 as volume_score, -5.0 * sum(complaints) as complaint_points, 20.0 as csat_num, 25.0 as csat_den,
    30.0 as fcr_num, 40.0 as fcr_den, 18.0 - 5.0 * sum(complaints) as total_score
from marts.agg_agent_daily group by agent_id;

create table marts.agg_schedule_compliance as
select date '2026-10-01' as month, agent_id, (5 + a % 4)::bigint as consecutive_work_days_max,
    (6 + a % 3)::bigint as rest_days, 170.0 + a as monthly_hours, (a % 3)::bigint as small_night_shifts,
    (a % 2)::bigint as big_night_shifts, (a % 3)::bigint as violations
from (select distinct agent_id, row_number() over (order by agent_id) as a from marts.agg_agent_daily group by agent_id);

create table marts.agg_stress_wave as
select * from (values
    ('2026W1', 'all', 'all', 160, 146, 146, 160, 140, 146, 3, 20, false, false),
    ('2026W1', 'project_group', 'alpha', 90, 88, 88, 90, 85, 88, 2, 12, false, false),
    ('2026W1', 'project_group', 'beta', 70, 58, 58, 70, 55, 58, 1, null, false, true)
) v(wave, grouping, group_value, distributed, returned, response_rate_num, response_rate_den, completion_num,
    completion_den, straightlined, comments, suppressed, comments_suppressed);

create table marts.agg_stress_dimension as
with dims(dimension_code, dimension_zh, dimension_en, dimension_order, base) as (values
    ('JC', '工作特征', 'Job characteristics', 1, 3.6), ('RS', '角色压力', 'Role stress', 2, 3.1),
    ('OC', '组织与氛围', 'Organization and climate', 3, 2.9), ('CD', '事业发展', 'Career development', 4, 3.3),
    ('FP', '家庭与个人', 'Family and personal', 5, 2.7)
), groups(grouping, group_value, respondents) as (values
    ('all', 'all', 146), ('gender', 'female', 98), ('gender', 'male', 48),
    ('tenure_band', '<1y', 40), ('tenure_band', '1-3y', 103), ('tenure_band', '>3y', 3), ('team', 'team_a', 12),
    ('team', 'team_b', 4)
)
select '2026W1' as wave, 'stress20' as instrument, grouping, group_value, dimension_code, dimension_zh, dimension_en,
    dimension_order, case when respondents < 5 then null else respondents end as n,
    case when respondents < 5 then '<5' else respondents::varchar end as n_label,
    case when respondents < 5 then null else round(base + length(group_value) * 0.03, 2) end as mean_score,
    case when respondents < 5 then null else 0.8 end as sd_score,
    case when respondents < 5 then null else round(base - 0.1, 2) end as ci_low,
    case when respondents < 5 then null else round(base + 0.2, 2) end as ci_high,
    case when respondents < 5 then null else round(respondents * 0.3)::bigint end as high_stress_num,
    case when respondents < 5 then null else respondents end as high_stress_den,
    null::double as high_stress_wilson_low, null::double as high_stress_wilson_high, 3.0 as midpoint,
    null::double as t_vs_midpoint, null::double as t_df, null::double as p_vs_midpoint,
    case when respondents < 5 then null when base > 3.2 then 'explicit' else 'implicit' end as stressor_type,
    case when respondents < 5 then null else respondents < 30 end as small_n, respondents < 5 as suppressed
from dims, groups;

create table marts.agg_stress_reliability as
select '2026W1' as wave, 'stress20' as instrument, 'dimension' as scope, dimension_code, dimension_zh, dimension_en,
    'scale' as row_type, null::varchar as item_code, 146::bigint as n_respondents, 4::bigint as n_items,
    0.70 + dimension_order * 0.03 as alpha, null::double as alpha_if_item_deleted, null::double as item_rest_r,
    0.78 as kmo, 120.5 as bartlett_chi2, 6::bigint as bartlett_df, 0.0001 as bartlett_p, false as suppressed
from (select distinct dimension_code, dimension_zh, dimension_en, dimension_order from marts.agg_stress_dimension);

create table marts.agg_stress_group_tests as
select '2026W1' as wave, 'stress20' as instrument, dimension_code, any_value(dimension_zh) as dimension_zh,
    any_value(dimension_en) as dimension_en, grouping, 2::bigint as n_groups, 'female|male' as groups_tested,
    146::bigint as n_total, case grouping when 'gender' then 'welch_t' else 'anova' end as test, 1.7 as statistic,
    1.0 as df1, 90.0 as df2, 0.09 as p_value, false as significant, 'hedges_g' as effect_size_name,
    0.21 as effect_size, 0.21 as cohens_d, 'female' as highest_group, 3.4 as highest_mean, 'male' as lowest_group,
    3.2 as lowest_mean
from marts.agg_stress_dimension where grouping in ('gender', 'tenure_band') group by all;

create table marts.agg_stress_workload as
select wave, instrument, group_value as team, dimension_code, dimension_zh, dimension_en, n, n_label, mean_score,
    high_stress_num, high_stress_den, suppressed, 6::bigint as agents, 0.78 as occupancy,
    9.5 as contacts_per_logged_in_hour, 1.5 as night_shifts_per_agent_month, 5.2 as consecutive_work_days_max_avg,
    true as has_workload
from marts.agg_stress_dimension where grouping = 'team';

create table marts.dq_results as
select 'run' || d as run_id, timestamp '2026-10-01 02:00' + d * interval 1 day as checked_at, 'contacts' as suite,
    'fct_contacts' as table_name, check_name, case when check_name = 'volume' then 'warn' else 'block' end as severity,
    not (check_name = 'volume' and d % 4 = 0) as success, '0' as observed_value,
    case when check_name = 'volume' and d % 4 = 0 then 12 else 0 end::bigint as unexpected_count, '' as details
from range(0, 14) t(d), (values ('volume'), ('not_null_contact_id'), ('no_raw_phone_numbers')) c(check_name);

create table marts.dq_quarantine_summary as
select source, reason, date '2026-10-01' + d::integer as quarantined_date, (3 + d % 4)::bigint as rows
from (values ('cdr', 'bad_timestamp'), ('cdr', 'negative_duration'), ('queue_log', 'malformed_line')) s(source, reason),
     range(0, 14, 3) t(d);

create table marts.dq_source_freshness as
select source, timestamp '2026-10-15 02:00' as last_loaded_at, timestamp '2026-10-14 23:58' as last_event_ts,
    14::bigint as files, rows_loaded
from (values ('cdr', 12000::bigint), ('queue_log', 30000::bigint), ('agent_states', 8000::bigint)) s(source, rows_loaded);

create table marts.dim_queues as
select * from (values
    ('presales', '售前咨询', 'Pre-sales', 'sha', 20, 0.8),
    ('intl_support', '国际客服', 'International support', 'lon', 20, 0.8)
) v(queue_code, queue_name_zh, queue_name_en, site_code, sl_threshold_s, sl_target);
"""


def build_serving_fixture(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute(SQL)
        con.execute("checkpoint")
    finally:
        con.close()
    tmp.replace(path)  # same publish rule as the pipeline: readers only ever see a finished file
    return path
