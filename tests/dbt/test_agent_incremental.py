"""Incremental agent state timeline: a new day, a late state for an earlier day, an open state
closed by the new load and a roster export that gives agents a site for the first time (one moves
to another time zone) must give exactly what a full rebuild gives (int_agent_states_timeline is
delete+insert by report_date; the dates to rebuild come from the episodes that changed and the
agents that moved, macros/agent_incremental.sql), and dates nothing touches are left alone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from .conftest import NOT_MINE, SAME_ROWS, query, run_dbt
from .raw_contract import ensure_raw_tables, insert_rows

# The timeline and the models reading it (incremental too: they rebuild the dates the timeline logs).
COMPARED = {
    "int_agent_states_timeline": "intermediate",
    "int_agent_intervals_staffed": "intermediate",
    "agg_agent_daily": "marts",
}
FIRST_LOAD, SECOND_LOAD = datetime(2026, 3, 12, 1), datetime(2026, 3, 13, 1)


def _run(data_dir: Path, *args: str) -> None:
    select = ["--select", "+agg_agent_daily", "+int_agent_intervals_staffed", "--exclude", *NOT_MINE]
    result = run_dbt(data_dir, *args, *select)
    assert result.returncode == 0, result.stdout[-5000:]


def _state(
    agent: str, state: str, start: str, end: str | None, at: datetime, reason: str | None = None
) -> dict:
    return {
        "source_system": "canonical",
        "agent_id": agent,
        "state": state,
        "reason": reason,
        "start_ts": datetime.fromisoformat(start),
        "end_ts": datetime.fromisoformat(end) if end else None,
        "source_file": "landing/agent_states/fixture.csv",
        "source_line": 1,
        "loaded_at": at,
    }


def _roster(agent: str, site: str, as_of: str, at: datetime) -> dict:
    return {
        "agent_id": agent,
        "agent_name": agent.upper(),
        "team": "T1",
        "supervisor": "S1",
        "site_code": site,
        "skills": "presales",
        "employment_type": "full_time",
        "as_of_date": datetime.fromisoformat(as_of).date(),
        "source_file": "landing/roster/fixture.csv",
        "source_line": 1,
        "loaded_at": at,
    }


def test_new_day_late_state_and_closed_open_state_match_full_rebuild(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    # Default site: Asia/Shanghai (UTC+8), so 16:00 UTC is local midnight.
    history = [
        # ag5's day 03-05 is touched by nothing later: it must not be rebuilt.
        _state("ag5", "logged_in", "2026-03-05 01:00:00", "2026-03-05 02:00:00", FIRST_LOAD),
        _state("ag5", "available", "2026-03-05 01:00:00", "2026-03-05 02:00:00", FIRST_LOAD),
        _state("ag3", "logged_in", "2026-03-09 01:00:00", "2026-03-09 05:00:00", FIRST_LOAD),
        _state("ag3", "available", "2026-03-09 01:00:00", "2026-03-09 05:00:00", FIRST_LOAD),
        # ag1 works over local midnight (23:00-01:00 local).
        _state("ag1", "logged_in", "2026-03-11 15:00:00", "2026-03-11 17:00:00", FIRST_LOAD),
        _state("ag1", "available", "2026-03-11 15:00:00", "2026-03-11 17:00:00", FIRST_LOAD),
        # ag2's session is still open at the first data end (03-11 17:00 UTC).
        _state("ag2", "logged_in", "2026-03-11 14:00:00", None, FIRST_LOAD),
        _state("ag2", "available", "2026-03-11 14:00:00", None, FIRST_LOAD),
        # ag4 stays open through both loads: it stretches to each new data end.
        _state("ag4", "logged_in", "2026-03-11 12:00:00", None, FIRST_LOAD),
        # ag6 and ag7 have no roster row yet (default site, Asia/Shanghai); the second load's roster
        # export puts ag6 in London (another time zone) and ag7 in Shanghai (same zone, new site).
        # ag6's first state crosses Shanghai midnight (16:00 UTC), its second London midnight.
        _state("ag6", "logged_in", "2026-03-07 15:00:00", "2026-03-07 17:00:00", FIRST_LOAD),
        _state("ag6", "logged_in", "2026-03-07 23:00:00", "2026-03-08 01:00:00", FIRST_LOAD),
        _state("ag7", "logged_in", "2026-03-06 01:00:00", "2026-03-06 03:00:00", FIRST_LOAD),
    ]
    insert_rows(warehouse, "agent_states", history)
    _run(data_dir, "seed")
    _run(data_dir, "run")
    assert query(
        warehouse,
        """select report_date, piece_s from intermediate.int_agent_states_timeline
           where agent_id = 'ag2' and state = 'available' order by report_date""",
    ) == [(datetime(2026, 3, 11).date(), 7200), (datetime(2026, 3, 12).date(), 3600)]

    # ag5's day is touched by no later load: an incremental run must leave it alone.
    _mark_untouched_day(warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        # The new load closes ag2's open states (a re-derived source replaces the open rows).
        con.execute("delete from raw.agent_states where agent_id = 'ag2'")
    finally:
        con.close()
    insert_rows(
        warehouse,
        "agent_states",
        [
            _state("ag2", "logged_in", "2026-03-11 14:00:00", "2026-03-11 18:00:00", SECOND_LOAD),
            _state("ag2", "available", "2026-03-11 14:00:00", "2026-03-11 17:30:00", SECOND_LOAD),
            _state(
                "ag2", "not_ready", "2026-03-11 17:30:00", "2026-03-11 18:00:00", SECOND_LOAD, reason="break"
            ),
            # late state for an earlier day
            _state(
                "ag3",
                "not_ready",
                "2026-03-09 05:00:00",
                "2026-03-09 05:45:00",
                SECOND_LOAD,
                reason="meeting",
            ),
            # the new day
            _state("ag1", "logged_in", "2026-03-12 01:00:00", "2026-03-12 09:00:00", SECOND_LOAD),
            _state("ag1", "available", "2026-03-12 01:00:00", "2026-03-12 09:00:00", SECOND_LOAD),
        ],
    )
    insert_rows(
        warehouse,
        "roster",
        [_roster("ag6", "lon", "2026-03-12", SECOND_LOAD), _roster("ag7", "sha", "2026-03-12", SECOND_LOAD)],
    )
    _run(data_dir, "run")

    timeline = "intermediate.int_agent_states_timeline"
    # raw only grew; the agents the roster moved are rebuilt on all their dates: still the fast path
    assert not _compared_episodes(data_dir)
    assert query(
        warehouse,
        f"""select agent_id, site_code, time_zone, report_date, piece_s from {timeline}
            where agent_id in ('ag6', 'ag7') order by agent_id, report_date, piece_s""",
    ) == [
        ("ag6", "lon", "Europe/London", datetime(2026, 3, 7).date(), 3600),
        ("ag6", "lon", "Europe/London", datetime(2026, 3, 7).date(), 7200),
        ("ag6", "lon", "Europe/London", datetime(2026, 3, 8).date(), 3600),
        ("ag7", "sha", "Asia/Shanghai", datetime(2026, 3, 6).date(), 7200),
    ]
    assert query(warehouse, f"select min(piece_s) from {timeline} where agent_id = 'ag5'") == [(1003600,)]
    assert query(
        warehouse,
        f"""select report_date, state, piece_s, is_open from {timeline}
            where agent_id = 'ag2' order by report_date, state""",
    ) == [
        (datetime(2026, 3, 11).date(), "available", 7200, False),
        (datetime(2026, 3, 11).date(), "logged_in", 7200, False),
        (datetime(2026, 3, 12).date(), "available", 5400, False),
        (datetime(2026, 3, 12).date(), "logged_in", 7200, False),
        (datetime(2026, 3, 12).date(), "not_ready", 1800, False),
    ]
    # ag4 is still open and now ends at the new data end (03-12 09:00 UTC = 17:00 local)
    assert query(
        warehouse, f"select sum(piece_s), bool_and(is_open) from {timeline} where agent_id = 'ag4'"
    ) == [(21 * 3600, True)]
    assert query(
        warehouse,
        "select not_ready_meeting_s from marts.agg_agent_daily where agent_id = 'ag3' and report_date = '2026-03-09'",
    ) == [(2700,)]

    _unmark_and_compare_with_full_refresh(data_dir, warehouse)

    # A rollback-like deletion of a closed state loaded earlier: raw did not only grow, so the run
    # compares episodes (the slow path) and rebuilds ag3's day and the new day only.
    _mark_untouched_day(warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("delete from raw.agent_states where agent_id = 'ag3' and state = 'available'")
    finally:
        con.close()
    third_load = datetime(2026, 3, 14, 1)
    insert_rows(
        warehouse,
        "agent_states",
        [_state("ag1", "logged_in", "2026-03-13 01:00:00", "2026-03-13 02:00:00", third_load)],
    )
    _run(data_dir, "run")
    assert _compared_episodes(data_dir)
    assert query(warehouse, f"select min(piece_s) from {timeline} where agent_id = 'ag5'") == [(1003600,)]
    assert query(
        warehouse,
        f"select state from {timeline} where agent_id = 'ag3' order by state",
    ) == [("logged_in",), ("not_ready",)]
    _unmark_and_compare_with_full_refresh(data_dir, warehouse)


def _compared_episodes(data_dir: Path) -> bool:
    """Whether the last run of the timeline took the slow path (compared every episode)."""
    compiled = next((data_dir / "dbt_target" / "compiled").rglob("int_agent_states_timeline.sql"))
    return "compared every episode" in compiled.read_text()


def _mark_untouched_day(warehouse: Path) -> None:
    """Mark ag5's day, which no later load touches (piece_s is derived, not compared)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "update intermediate.int_agent_states_timeline set piece_s = piece_s + 1000000 where agent_id = 'ag5'"
        )
    finally:
        con.close()


def _unmark_and_compare_with_full_refresh(data_dir: Path, warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "update intermediate.int_agent_states_timeline set piece_s = piece_s - 1000000 where agent_id = 'ag5'"
        )
    finally:
        con.close()
    # The models downstream rebuild only the dates the timeline logged, so they never read the marker
    # (a difference would show below); a run with nothing new must keep every table as it is.
    _run(data_dir, "run")
    con = duckdb.connect(str(warehouse))
    try:
        for table, schema in COMPARED.items():
            con.execute(
                f"create or replace table main.incremental_{table} as select {SAME_ROWS} from {schema}.{table}"
            )
    finally:
        con.close()

    _run(data_dir, "run", "--full-refresh")
    for table, schema in COMPARED.items():
        diff = query(
            warehouse,
            f"""
            select count(*) from (
                (select * from main.incremental_{table} except all select {SAME_ROWS} from {schema}.{table})
                union all
                (select {SAME_ROWS} from {schema}.{table} except all select * from main.incremental_{table})
            )""",
        )[0][0]
        rows = query(warehouse, f"select count(*) from {schema}.{table}")[0][0]
        assert rows > 0 and diff == 0, table
