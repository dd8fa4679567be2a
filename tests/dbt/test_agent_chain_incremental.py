"""Incremental agent chain below the timeline: int_schedules_compared_to_actuals (by schedule_date),
int_agent_intervals_staffed (by interval_start_utc) and agg_agent_daily (by report_date) rebuild
only what changed, from the dates the timeline logs (intermediate.agent_chain_build_log), schedule
rows loaded or deleted since their loaded_at watermark and roster exports. After each of a new day,
a schedule re-export that replaces and drops rows of an earlier day, and a roster move to another
time zone, and a late roster export for an earlier date, every table must equal a --full-refresh of
the same warehouse (whole-table EXCEPT ALL both ways), and the rebuilt dates must be just the changed
ones: history is placed by the roster version valid at the time, so a move changes only the dates
from the new version on."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from .conftest import NOT_MINE, SAME_ROWS, query, run_dbt
from .raw_contract import ensure_raw_tables, insert_rows
from .test_dbt_build import _seg

CHAIN = {
    "int_agent_states_timeline": "intermediate",
    "int_schedules_compared_to_actuals": "intermediate",
    "int_agent_intervals_staffed": "intermediate",
    "agg_agent_daily": "marts",
}
SELECT = ["--select", "+agg_agent_daily", "+int_agent_intervals_staffed", "--exclude", *NOT_MINE]
LOADS = [
    datetime(2026, 3, 12, 1),
    datetime(2026, 3, 13, 1),
    datetime(2026, 3, 14, 1),
    datetime(2026, 3, 15, 1),
]


def _run(data_dir: Path, *args: str) -> None:
    result = run_dbt(data_dir, *args, *SELECT)
    assert result.returncode == 0, result.stdout[-5000:]


def _state(agent: str, state: str, start: str, end: str, at: datetime, reason: str | None = None) -> dict:
    return {
        "source_system": "canonical",
        "agent_id": agent,
        "state": state,
        "reason": reason,
        "start_ts": datetime.fromisoformat(start),
        "end_ts": datetime.fromisoformat(end),
        "source_file": "landing/agent_states/fixture.csv",
        "source_line": 1,
        "loaded_at": at,
    }


def _shift_states(agent: str, day: str, at: datetime, start: str = "01:00", end: str = "09:00") -> list[dict]:
    """Logged in and available for the shift, on break (not_ready) 05:00-05:15 UTC."""
    return [
        _state(agent, "logged_in", f"{day} {start}:00", f"{day} {end}:00", at),
        _state(agent, "available", f"{day} {start}:00", f"{day} 05:00:00", at),
        _state(agent, "not_ready", f"{day} 05:00:00", f"{day} 05:15:00", at, reason="break"),
        _state(agent, "available", f"{day} 05:15:00", f"{day} {end}:00", at),
    ]


def _activity(agent: str, day: str, activity: str, start: str, end: str, at: datetime, file: str) -> dict:
    return {
        "agent_id": agent,
        "schedule_date": date.fromisoformat(day),
        "shift_code": "D",
        "activity": activity,
        "start_ts": datetime.fromisoformat(f"{day} {start}:00"),
        "end_ts": datetime.fromisoformat(f"{day} {end}:00"),
        "source_file": f"landing/schedules/{file}",
        "source_line": 1,
        "loaded_at": at,
    }


def _shift(agent: str, day: str, at: datetime, file: str = "schedule_2026-03_sha.csv") -> list[dict]:
    return [
        _activity(agent, day, "work", "01:00", "09:00", at, file),
        _activity(agent, day, "break", "05:00", "05:15", at, file),
    ]


def _roster(agent: str, site: str, team: str, as_of: str, at: datetime) -> dict:
    return {
        "agent_id": agent,
        "agent_name": agent.upper(),
        "team": team,
        "supervisor": "S1",
        "site_code": site,
        "skills": "presales",
        "employment_type": "full_time",
        "as_of_date": date.fromisoformat(as_of),
        "source_file": f"landing/roster/roster_{as_of}.csv",
        "source_line": 1,
        "loaded_at": at,
    }


def _leg(contact: str, answered: str, at: datetime) -> dict:
    return {**_seg(contact, "presales", answered, "answered", 0, agent="ag1", talk=120), "loaded_at": at}


def _execute(warehouse: Path, sql: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(sql)
    finally:
        con.close()


def _logged_dates(warehouse: Path, model: str) -> set[date]:
    """The dates `model` logged as rebuilt by the latest dbt invocation."""
    rows = query(
        warehouse,
        """select report_date from intermediate.agent_chain_build_log
           where model_name = ? and entry = 'date' and invocation_id = (
               select invocation_id from intermediate.agent_chain_build_log order by logged_at desc limit 1)""",
        [model],
    )
    return {r[0] for r in rows}


def _assert_equals_full_refresh(data_dir: Path, warehouse: Path) -> None:
    _execute(
        warehouse,
        ";".join(
            f"create or replace table main.incr_{t} as select {SAME_ROWS} from {s}.{t}"
            for t, s in CHAIN.items()
        ),
    )
    _run(data_dir, "run", "--full-refresh")
    for table, schema in CHAIN.items():
        diff, rows = query(
            warehouse,
            f"""select
                  (select count(*) from (
                      (select * from main.incr_{table} except all select {SAME_ROWS} from {schema}.{table})
                      union all
                      (select {SAME_ROWS} from {schema}.{table} except all select * from main.incr_{table}))),
                  (select count(*) from {schema}.{table})""",
        )[0]
        assert rows > 0 and diff == 0, (table, diff)


def _adherence(warehouse: Path, agent: str, day: str) -> list[tuple]:
    return query(
        warehouse,
        "select adherence_num, adherence_den, team, site_code from marts.agg_agent_daily "
        "where agent_id = ? and report_date = ?",
        [agent, date.fromisoformat(day)],
    )


def test_new_day_schedule_reexport_and_roster_move_match_full_refresh(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    first = LOADS[0]
    # History 03-09..03-11: ag1 and ag2 in Shanghai (UTC+8: the 01:00-09:00 UTC shift is one local day),
    # ag3 in London. ag2's 03-10 shift also has a training hour the re-export will drop.
    insert_rows(
        warehouse,
        "roster",
        [_roster("ag1", "sha", "T1", "2026-03-01", first), _roster("ag2", "sha", "T1", "2026-03-01", first)]
        + [_roster("ag3", "lon", "T2", "2026-03-01", first)],
    )
    schedules, states = [], []
    for day in ("2026-03-09", "2026-03-10", "2026-03-11"):
        schedules += _shift("ag1", day, first)
        states += _shift_states("ag1", day, first)
    schedules += _shift("ag2", "2026-03-10", first)
    schedules.append(
        _activity("ag2", "2026-03-10", "training", "07:00", "08:00", first, "schedule_2026-03_sha.csv")
    )
    states += _shift_states("ag2", "2026-03-10", first)
    # ag3 (London) works 03-10 and 03-11; the 03-11 meeting is dropped by a London re-export later.
    for day in ("2026-03-10", "2026-03-11"):
        schedules += _shift("ag3", day, first, file="schedule_2026-03_lon.csv")
        states += _shift_states("ag3", day, first)
    schedules.append(
        _activity("ag3", "2026-03-11", "meeting", "07:00", "08:00", first, "schedule_2026-03_lon.csv")
    )
    insert_rows(warehouse, "schedules", schedules)
    insert_rows(warehouse, "agent_states", states)
    insert_rows(warehouse, "contact_segments", [_leg("c1", "2026-03-10 02:00:00", first)])
    # seeds and models in one invocation (each dbt start costs seconds)
    _run(data_dir, "build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
    # work 01:00-09:00 minus the break, all available: 27900 productive + 900 s on break as planned
    assert _adherence(warehouse, "ag1", "2026-03-10") == [(28800, 28800, "T1", "sha")]

    # 1. A new day (states, schedule, a leg) rebuilds that day only.
    second = LOADS[1]
    insert_rows(warehouse, "agent_states", _shift_states("ag1", "2026-03-12", second))
    insert_rows(warehouse, "schedules", _shift("ag1", "2026-03-12", second))
    insert_rows(warehouse, "contact_segments", [_leg("c2", "2026-03-12 02:00:00", second)])
    _run(data_dir, "run")
    new_day = {date(2026, 3, 12)}
    assert _logged_dates(warehouse, "int_agent_states_timeline") == new_day
    assert _logged_dates(warehouse, "int_schedules_compared_to_actuals") == new_day
    assert _logged_dates(warehouse, "agg_agent_daily") == new_day
    _assert_equals_full_refresh(data_dir, warehouse)

    # 2. Schedule re-exports replace earlier rows (as ingestion does, see schedule_exports.py): for 03-10
    # ag1's break moves to 06:00 while the agent still breaks at 05:00 and ag2's training hour is gone;
    # London's re-export drops ag3's 03-11 meeting and adds nothing (only a deletion tells). No state
    # changes, so the timeline rebuilds nothing.
    third = LOADS[2]
    _execute(
        warehouse,
        "delete from raw.schedules where schedule_date = '2026-03-10' and agent_id in ('ag1', 'ag2')",
    )
    _execute(warehouse, "delete from raw.schedules where agent_id = 'ag3' and activity = 'meeting'")
    reexport = "schedule_2026-03_sha_reexport.csv"
    insert_rows(
        warehouse,
        "schedules",
        [
            _activity("ag1", "2026-03-10", "work", "01:00", "09:00", third, reexport),
            _activity("ag1", "2026-03-10", "break", "06:00", "06:15", third, reexport),
            *_shift("ag2", "2026-03-10", third, file=reexport),
        ],
    )
    _run(data_dir, "run")
    assert _logged_dates(warehouse, "int_agent_states_timeline") == set()
    assert _logged_dates(warehouse, "int_schedules_compared_to_actuals") == {
        date(2026, 3, 10),
        date(2026, 3, 11),
    }
    # 27900 productive in the shift, 900 of them in the new break; 0 s on break as planned then
    assert _adherence(warehouse, "ag1", "2026-03-10") == [(27000, 28800, "T1", "sha")]
    # planned shrinkage left: one 15-minute break per shift
    assert query(
        warehouse,
        """select agent_id, sum(scheduled_shrink_s) from intermediate.int_agent_intervals_staffed
           where agent_id in ('ag2', 'ag3') group by agent_id order by agent_id""",
    ) == [("ag2", 900), ("ag3", 1800)]
    _assert_equals_full_refresh(data_dir, warehouse)

    # 3. A roster export dated 03-13 moves ag1 to London with team T2 and ag2 to team T3. History is
    # placed by the roster version valid at the time (a state episode by the UTC date of its start, a
    # schedule row by its schedule_date, a daily row by its report date), so ag1's 03-09..03-12 stay
    # Shanghai days of team T1 and nothing before the move is rebuilt. The same load brings ag1's first
    # London shift and a logged-in episode crossing the version boundary: 03-12 22:00 - 03-13 01:00 UTC
    # starts on UTC date 03-12 (Shanghai version), so it stays whole in Shanghai, 06:00-09:00 local on
    # 03-13; the London shift 01:00-09:00 UTC is London's (UTC+0 before 29 March) 03-13.
    fourth = LOADS[3]
    insert_rows(
        warehouse,
        "roster",
        [
            _roster("ag1", "lon", "T2", "2026-03-13", fourth),
            _roster("ag2", "sha", "T3", "2026-03-13", fourth),
            _roster("ag3", "lon", "T2", "2026-03-13", fourth),
        ],
    )
    insert_rows(
        warehouse,
        "agent_states",
        [
            *_shift_states("ag2", "2026-03-13", fourth),
            _state("ag1", "logged_in", "2026-03-12 22:00:00", "2026-03-13 01:00:00", fourth),
            *_shift_states("ag1", "2026-03-13", fourth),
        ],
    )
    insert_rows(warehouse, "schedules", _shift("ag1", "2026-03-13", fourth, file="schedule_2026-03_lon.csv"))
    _run(data_dir, "run")
    move_day = {date(2026, 3, 13)}
    assert _logged_dates(warehouse, "int_agent_states_timeline") == move_day
    assert _logged_dates(warehouse, "int_schedules_compared_to_actuals") == move_day
    assert _logged_dates(warehouse, "agg_agent_daily") == move_day
    # logged-in seconds per local day and site: 8 h shifts (28800 s) in Shanghai before the move; on
    # 03-13 the crossing episode's 3 h (10800 s) in Shanghai and the 8 h London shift
    assert query(
        warehouse,
        """select report_date, site_code, time_zone, sum(piece_s) from intermediate.int_agent_states_timeline
           where agent_id = 'ag1' and state = 'logged_in' group by all order by report_date, site_code""",
    ) == [
        *[(date(2026, 3, d), "sha", "Asia/Shanghai", 28800) for d in (9, 10, 11, 12)],
        (date(2026, 3, 13), "lon", "Europe/London", 28800),
        (date(2026, 3, 13), "sha", "Asia/Shanghai", 10800),
    ]
    # the daily rows keep the team and site valid on their date; 03-13 is T2/lon with 10800 + 28800 s
    assert query(
        warehouse,
        """select report_date, team, site_code, logged_in_s from marts.agg_agent_daily
           where agent_id = 'ag1' order by report_date""",
    ) == [
        *[(date(2026, 3, d), "T1", "sha", 28800) for d in (9, 10, 11, 12)],
        (date(2026, 3, 13), "T2", "lon", 39600),
    ]
    assert _adherence(warehouse, "ag1", "2026-03-10") == [(27000, 28800, "T1", "sha")]
    assert query(
        warehouse,
        "select report_date, team from marts.agg_agent_daily where agent_id = 'ag2' order by report_date",
    ) == [(date(2026, 3, 10), "T1"), (date(2026, 3, 13), "T3")]
    # staffed intervals: four Shanghai work rows of 28800 paid seconds before the move (schedule_date
    # 03-09..03-12), the 03-13 one in London; logged in: 4 x 28800 + 10800 in Shanghai, 28800 in London
    assert query(
        warehouse,
        """select site_code, sum(scheduled_paid_s), sum(logged_in_s) from intermediate.int_agent_intervals_staffed
           where agent_id = 'ag1' group by site_code order by site_code""",
    ) == [("lon", 28800, 28800), ("sha", 4 * 28800, 4 * 28800 + 10800)]
    _assert_equals_full_refresh(data_dir, warehouse)

    # 4. A late roster export dated 03-11 puts ag3 in Shanghai with team T5 until the 03-13 export
    # (London, T2) takes over: only ag3's 03-11 moves. Its 01:00-09:00 UTC shift was London's 03-11 and is
    # now Shanghai's 03-11 (09:00-17:00 local); 03-10 stays London / T2. No state or schedule row is new.
    insert_rows(warehouse, "roster", [_roster("ag3", "sha", "T5", "2026-03-11", datetime(2026, 3, 16, 1))])
    _run(data_dir, "run")
    assert _logged_dates(warehouse, "int_agent_states_timeline") == {date(2026, 3, 11)}
    assert _logged_dates(warehouse, "agg_agent_daily") == {date(2026, 3, 11)}
    assert query(
        warehouse,
        """select report_date, team, site_code, logged_in_s from marts.agg_agent_daily
           where agent_id = 'ag3' order by report_date""",
    ) == [(date(2026, 3, 10), "T2", "lon", 28800), (date(2026, 3, 11), "T5", "sha", 28800)]
    # ag3's schedule rows follow: the 03-10 work row in London, the 03-11 one in Shanghai
    assert query(
        warehouse,
        """select site_code, sum(scheduled_paid_s), sum(scheduled_shrink_s) from intermediate.int_agent_intervals_staffed
           where agent_id = 'ag3' group by site_code order by site_code""",
    ) == [("lon", 28800, 900), ("sha", 28800, 900)]
    _assert_equals_full_refresh(data_dir, warehouse)
