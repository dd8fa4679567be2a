"""Small hand-made warehouses that follow the raw contract and the marts contract.

The real dbt models and simulator build the same shapes; these let the quality gates and the
publishing machinery be tested in seconds, with faults injected one at a time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

HMAC = "a3f1" * 16  # a 64-hex caller key
DAYS = 21
# Relative to today so the wall-clock freshness check passes: the last day is yesterday.
START = date.today() - timedelta(days=DAYS)
LOADED_AT = datetime.combine(date.today(), datetime.min.time())


def _segments(days: int) -> list[tuple]:
    rows = []
    for d in range(days):
        day = START + timedelta(days=d)
        per_day = 12 if day.weekday() < 5 else 6
        for i in range(per_day):
            entry = datetime.combine(day, datetime.min.time()) + timedelta(hours=1, minutes=7 * i)
            answered = i % 4 != 3
            rows.append(
                (
                    "canonical",
                    f"c{d:03d}{i:03d}",
                    1,
                    "voice",
                    "inbound",
                    "presales",
                    HMAC,
                    entry,
                    entry + timedelta(seconds=10) if answered else None,
                    entry + timedelta(seconds=200),
                    "a01" if answered else None,
                    10.0,
                    150.0 if answered else 0.0,
                    0.0,
                    30.0 if answered else None,
                    "answered" if answered else "abandoned",
                    None,
                    None,
                    "order_help",
                    False,
                    None,
                    f"landing/contact_segments/day{d}.csv",
                    i + 2,
                    LOADED_AT,
                )
            )
    return rows


RAW_DDL = """
create schema if not exists raw;
create table raw.contact_segments (source_system varchar, contact_id varchar, segment_seq integer,
  channel varchar, direction varchar, queue_code varchar, caller_key varchar, queue_entry_ts timestamp,
  answer_ts timestamp, end_ts timestamp, agent_id varchar, wait_s double, talk_s double, hold_s double,
  acw_s double, outcome varchar, transfer_type varchar, transfer_to_queue varchar, disposition varchar,
  complaint boolean, resolved boolean, source_file varchar, source_line bigint, loaded_at timestamp);
create table raw.agent_states (source_system varchar, agent_id varchar, state varchar, reason varchar,
  start_ts timestamp, end_ts timestamp, source_file varchar, source_line bigint, loaded_at timestamp);
create table raw.file_manifest (file_path varchar, sha256 varchar, source varchar, format varchar,
  rows_read bigint, rows_loaded bigint, rows_quarantined bigint, rows_duplicate bigint, status varchar,
  message varchar, started_at timestamp, finished_at timestamp);
create table raw.quarantine (source varchar, source_file varchar, source_line bigint, reason varchar,
  raw_record varchar, quarantined_at timestamp);
"""

# The remaining raw tables of the contract, empty (a center that starts with telephony only).
EMPTY_RAW_DDL = """
create table raw.roster (agent_id varchar, agent_name varchar, team varchar, supervisor varchar,
  site_code varchar, skills varchar, employment_type varchar, hire_date date, end_date date,
  as_of_date date, source_file varchar, source_line bigint, loaded_at timestamp);
create table raw.schedules (agent_id varchar, schedule_date date, shift_code varchar, start_ts timestamp,
  end_ts timestamp, activity varchar, source_file varchar, source_line bigint, loaded_at timestamp);
create table raw.customer_surveys (contact_id varchar, responded_at timestamp, csat integer, nps integer,
  resolved boolean, comment varchar, source_file varchar, source_line bigint, loaded_at timestamp);
create table raw.stress_responses (response_id varchar, wave varchar, submitted_at timestamp,
  project_group varchar, team varchar, gender varchar, age_band varchar, education varchar,
  marital_status varchar, tenure_band varchar, comment varchar, source_file varchar, source_line bigint,
  loaded_at timestamp);
create table raw.stress_answers (response_id varchar, item_code varchar, answer integer,
  source_file varchar, source_line bigint, loaded_at timestamp);
create table raw.survey_waves (wave varchar, project_group varchar, distributed integer,
  source_file varchar, source_line bigint, loaded_at timestamp);
"""

MARTS_SQL = """
create schema if not exists staging;
create table staging.stg_secret as select 1 as x;
create schema if not exists marts;
create table marts.fct_contacts as
  select contact_id, 'canonical' as source_system, 'voice' as channel, queue_code as first_queue_code,
         queue_code as last_queue_code, 'sha' as site_code,
         cast(queue_entry_ts + interval 8 hour as date) as report_date, caller_key, outcome, wait_s,
         talk_s, hold_s, acw_s, talk_s + hold_s + coalesce(acw_s, 0) as handle_s,
         case when outcome = 'answered' then 'resolved' else 'not_handled' end as fcr_status,
         cast(null as integer) as csat, cast(null as integer) as nps
  from raw.contact_segments;
create table marts.agg_queue_interval as
  select queue_code, 'sha' as site_code, cast(queue_entry_ts + interval 8 hour as date) as report_date,
         time_bucket(interval 30 minute, queue_entry_ts) as interval_start_utc,
         count(*) as offered,
         count(*) filter (where outcome = 'answered') as answered,
         count(*) filter (where outcome = 'abandoned') as abandoned,
         0 as short_abandoned, 0 as timeout, 0 as exit_key, 0 as overflow, 0 as error,
         count(*) filter (where outcome = 'answered' and wait_s <= 20) as answered_within_t,
         sum(wait_s) filter (where outcome = 'answered') as wait_answered_s,
         sum(talk_s + hold_s + coalesce(acw_s, 0)) as handle_s,
         count(*) filter (where outcome = 'answered' and wait_s <= 20) as sl_num, count(*) as sl_den,
         count(*) filter (where outcome = 'answered') as answer_rate_num, count(*) as answer_rate_den
  from raw.contact_segments group by all;
create table marts.agg_queue_daily as
  select queue_code, report_date, sum(offered) as offered, sum(answered) as answered,
         sum(abandoned) as abandoned, sum(short_abandoned) as short_abandoned, sum(timeout) as timeout,
         sum(exit_key) as exit_key, sum(overflow) as overflow, sum(error) as error,
         sum(answered_within_t) as answered_within_t, sum(wait_answered_s) as wait_answered_s,
         sum(handle_s) as handle_s, sum(sl_num) as sl_num, sum(sl_den) as sl_den,
         sum(answer_rate_num) as answer_rate_num, sum(answer_rate_den) as answer_rate_den
  from marts.agg_queue_interval group by all;
create table marts.agg_center_daily as
  select report_date, sum(offered) as offered, sum(answered) as answered, sum(abandoned) as abandoned,
         sum(short_abandoned) as short_abandoned, sum(timeout) as timeout, sum(exit_key) as exit_key,
         sum(overflow) as overflow, sum(error) as error, sum(answered_within_t) as answered_within_t,
         sum(wait_answered_s) as wait_answered_s, sum(handle_s) as handle_s, sum(sl_num) as sl_num,
         sum(sl_den) as sl_den, sum(answer_rate_num) as answer_rate_num,
         sum(answer_rate_den) as answer_rate_den
  from marts.agg_queue_daily group by all;
create table marts.agg_stress_team as
  select * from (values ('team_a', 12, false, 3.1), ('team_b', 3, true, null)) t(team, n_respondents, suppressed, mean_score);
"""


def make_warehouse(path: Path, days: int = DAYS) -> Path:
    """A warehouse whose raw and marts layers pass every suite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(RAW_DDL)
    con.execute(EMPTY_RAW_DDL)
    segs = _segments(days)
    con.executemany(f"insert into raw.contact_segments values ({', '.join('?' * 24)})", segs)
    con.execute(
        "insert into raw.agent_states select 'canonical', 'a01', 'logged_in', null, "
        "min(queue_entry_ts), max(end_ts), 'landing/agent_states/x.csv', 2, max(loaded_at) "
        "from raw.contact_segments group by cast(queue_entry_ts as date)"
    )
    con.execute(
        "insert into raw.file_manifest select source_file, md5(source_file) || md5(source_file), "
        "'contact_segments', 'canonical', count(*), count(*), 0, 0, 'loaded', null, "
        "max(loaded_at), max(loaded_at) from raw.contact_segments group by source_file"
    )
    con.execute(MARTS_SQL)
    con.close()
    return path


def execute(path: Path, sql: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
    finally:
        con.close()
