"""The physical anchor and the hand-written DuckDB SQL reference for the core KPIs.

Anchor: DuckDB reading the contact-segment landing files the pipeline reads (count, then a full
parse of every column). Reference: what a competent analyst would write by hand in one script —
load the segments, then interval service level and ASA, AHT per agent-day and 7-day repeat-based
FCR with LEAD — no lineage, no pseudonymisation, no tests. Definitions follow METRICS.md; the
pandas reference (bench/reference_pandas.py) computes the same numbers.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from callcenter.config import REPO_ROOT

QUEUE_CONFIG = REPO_ROOT / "dbt" / "seeds" / "queue_config.csv"
FCR_WINDOW_DAYS = 7  # the seed's fcr_window_days (7 for every queue)


def segment_files(landing: Path) -> tuple[list[str], list[str]]:
    folder = landing / "contact_segments"
    return sorted(map(str, folder.glob("*.csv"))), sorted(map(str, folder.glob("*.parquet")))


def _list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def anchor(landing: Path, *, full_parse: bool) -> dict:
    """count(*) over the landing files, or a full parse (every column materialised and reduced)."""
    csv, parquet = segment_files(landing)
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    rows = 0
    select = "count(*), max(columns(*))" if full_parse else "count(*)"
    if csv:
        rows += con.execute(f"select {select} from read_csv({_list(csv)})").fetchone()[0]
    if parquet:
        rows += con.execute(
            f"select {select} from read_parquet({_list(parquet)}, union_by_name = true)"
        ).fetchone()[0]
    con.close()
    return {"rows": rows, "csv_files": len(csv), "parquet_files": len(parquet)}


def load_sql(landing: Path) -> str:
    csv, parquet = segment_files(landing)
    parts = []
    cols = """contact_id, segment_seq::integer as segment_seq, queue_code, caller_number,
        {ts}(queue_entry_ts) as queue_entry_ts, {ts}(answer_ts) as answer_ts, agent_id,
        wait_s::double as wait_s, talk_s::double as talk_s, hold_s::double as hold_s,
        acw_s::double as acw_s, outcome"""
    if csv:
        parts.append(f"select {cols.format(ts='')} from read_csv({_list(csv)})")
    if parquet:
        parts.append(
            f"select {cols.format(ts='cast_ts')} from read_parquet({_list(parquet)}, union_by_name = true)"
        )
    return "create or replace table segments as\n" + "\nunion all\n".join(parts)


KPI_SQL = f"""
create or replace table queues as select * from read_csv('{QUEUE_CONFIG}');

-- queue stints in the queue's local time; SL threshold T and short-abandon S from the seed
create or replace table stints as
select
    s.*,
    q.time_zone,
    time_bucket(interval 30 minute, timezone(q.time_zone, s.queue_entry_ts)) as interval_start_local,
    s.answer_ts is not null as is_answered,
    s.answer_ts is not null and s.wait_s <= q.sl_threshold_s as answered_within_t,
    s.outcome = 'abandoned' and s.wait_s < q.short_abandon_s as is_short_abandon
from segments s
join queues q using (queue_code);

create or replace table kpi_interval as
select
    queue_code,
    interval_start_local,
    count(*) as offered,
    count(*) filter (is_answered) as answered,
    count(*) filter (answered_within_t) as sl_num,
    count(*) - count(*) filter (is_short_abandon) as sl_den,
    coalesce(sum(wait_s) filter (is_answered), 0) as asa_num,
    count(*) filter (is_answered) as asa_den
from stints
group by all;

create or replace table kpi_agent_day as
select
    agent_id,
    cast(timezone(time_zone, answer_ts) as date) as report_date,
    count(*) as handled,
    sum(coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0)) as handle_s,
    handle_s / handled as aht_s
from stints
where is_answered and agent_id is not null
group by all;

-- 7-day repeat-based FCR: the next contact of the same caller, found with LEAD
create or replace table contacts as
select
    contact_id,
    arg_min(caller_number, segment_seq) as caller_number,
    min(queue_entry_ts) as first_entry_ts,
    cast(timezone(arg_min(time_zone, segment_seq), min(queue_entry_ts)) as date) as report_date,
    bool_or(is_answered) as handled
from stints
group by contact_id;

create or replace table kpi_fcr_day as
with ordered as (
    select
        *,
        lead(first_entry_ts) over (partition by caller_number order by first_entry_ts) as next_entry_ts
    from contacts
    where caller_number is not null
),
classified as (
    select
        report_date,
        case
            when next_entry_ts <= first_entry_ts + interval {FCR_WINDOW_DAYS} day then 'repeat'
            when first_entry_ts + interval {FCR_WINDOW_DAYS} day
                > (select max(queue_entry_ts) from segments) then 'pending'
            else 'resolved'
        end as status
    from ordered
    where handled
)
select
    report_date,
    count(*) filter (status = 'resolved') as fcr_num,
    count(*) filter (status in ('resolved', 'repeat')) as fcr_den,
    count(*) filter (status = 'pending') as pending
from classified
group by all;
"""

TOTALS_SQL = """
select
    (select sum(offered) from kpi_interval),
    (select sum(sl_num) from kpi_interval),
    (select sum(sl_den) from kpi_interval),
    (select sum(asa_num) from kpi_interval),
    (select sum(asa_den) from kpi_interval),
    (select sum(handled) from kpi_agent_day),
    (select sum(handle_s) from kpi_agent_day),
    (select sum(fcr_num) from kpi_fcr_day),
    (select sum(fcr_den) from kpi_fcr_day),
    (select count(*) from kpi_interval),
    (select count(*) from kpi_agent_day)
"""
TOTAL_NAMES = [
    "offered",
    "sl_num",
    "sl_den",
    "asa_num",
    "asa_den",
    "handled",
    "handle_s",
    "fcr_num",
    "fcr_den",
    "interval_rows",
    "agent_day_rows",
]


def run(landing: Path, output: Path) -> dict:
    """Load + KPIs into a fresh DuckDB file; returns the KPI totals (to compare with pandas and marts)."""
    output.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(output))
    con.execute("set timezone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    # parquet landing files carry ISO-8601 text timestamps (the CSV sniffer types them itself)
    con.execute("create macro cast_ts(x) as cast(x as timestamptz)")
    con.execute(load_sql(landing))
    loaded = time.perf_counter() - t0
    con.execute(KPI_SQL)
    totals = dict(zip(TOTAL_NAMES, con.execute(TOTALS_SQL).fetchone(), strict=True))
    con.close()
    return {"load_seconds": round(loaded, 3), "totals": {k: _num(v) for k, v in totals.items()}}


def _num(v):
    return round(float(v), 3) if v is not None else None
