"""Incremental agg_agent_monthly_scorecard (delete+insert by month): a new day rebuilds its month
only (delete+insert by month leaves the other months' rows alone), a late roster export that changes the team valid at a month's start rebuilds that month
although no agent-day changed, and after each step the table equals a --full-refresh (whole-table
EXCEPT ALL both ways)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from .conftest import NOT_MINE, SAME_ROWS, query, run_dbt
from .raw_contract import ensure_raw_tables, insert_rows
from .test_agent_chain_incremental import _execute, _logged_dates, _roster
from .test_dbt_build import _seg

SELECT = ["--select", "+agg_agent_monthly_scorecard", "--exclude", *NOT_MINE]


def _run(data_dir: Path, *args: str) -> None:
    result = run_dbt(data_dir, *args, *SELECT)
    assert result.returncode == 0, result.stdout[-5000:]


def _leg(contact: str, agent: str, answered: str, at: datetime, talk: float) -> dict:
    # one caller per contact: no repeat links between the fixture's contacts
    return {
        **_seg(contact, "presales", answered, "answered", 0, agent=agent, talk=talk, caller=f"k-{contact}"),
        "loaded_at": at,
    }


def _scorecard(warehouse: Path) -> list[tuple]:
    return query(
        warehouse,
        "select month, agent_id, team, handled, avg_talk_s, center_avg_talk_s, talk_score "
        "from marts.agg_agent_monthly_scorecard order by month, agent_id",
    )


def _assert_equals_full_refresh(data_dir: Path, warehouse: Path) -> None:
    _execute(
        warehouse,
        f"create or replace table main.incr_scorecard as select {SAME_ROWS} from marts.agg_agent_monthly_scorecard",
    )
    _run(data_dir, "run", "--full-refresh")
    diff, rows = query(
        warehouse,
        f"""select
              (select count(*) from (
                  (select * from main.incr_scorecard except all select {SAME_ROWS} from marts.agg_agent_monthly_scorecard)
                  union all
                  (select {SAME_ROWS} from marts.agg_agent_monthly_scorecard except all select * from main.incr_scorecard))),
              (select count(*) from marts.agg_agent_monthly_scorecard)""",
    )[0]
    assert rows > 0 and diff == 0, diff


def test_new_day_and_late_roster_export_rebuild_their_months_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    first = datetime(2026, 3, 6, 1)
    insert_rows(
        warehouse,
        "roster",
        [_roster("ag1", "sha", "T1", "2026-02-01", first), _roster("ag2", "sha", "T1", "2026-02-01", first)],
    )
    insert_rows(
        warehouse,
        "contact_segments",
        [
            _leg("c1", "ag1", "2026-02-20 02:00:00", first, talk=100),
            _leg("c2", "ag2", "2026-02-21 02:00:00", first, talk=300),
            _leg("c3", "ag1", "2026-03-05 02:00:00", first, talk=200),
        ],
    )
    _run(data_dir, "build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
    feb, mar = date(2026, 2, 1), date(2026, 3, 1)
    # February: center average talk 200 s; ag1 100 s (5 points), ag2 +100 s over it (0 points)
    assert _scorecard(warehouse) == [
        (feb, "ag1", "T1", 1, 100.0, 200.0, 5),
        (feb, "ag2", "T1", 1, 300.0, 200.0, 0),
        (mar, "ag1", "T1", 1, 200.0, 200.0, 5),
    ]

    # 1. A new day in March: ag2's first March contact moves March's center average (200 -> 250 s)
    # and rebuilds March only.
    insert_rows(
        warehouse,
        "contact_segments",
        [_leg("c4", "ag2", "2026-03-06 02:00:00", datetime(2026, 3, 7, 1), 300)],
    )
    _run(data_dir, "run")
    assert _logged_dates(warehouse, "agg_agent_monthly_scorecard") == {mar}
    # ag2 is 50 s over the center: the "up to +80 s" band, 1 point
    assert _scorecard(warehouse)[2:] == [
        (mar, "ag1", "T1", 1, 200.0, 250.0, 5),
        (mar, "ag2", "T1", 1, 300.0, 250.0, 1),
    ]
    _assert_equals_full_refresh(data_dir, warehouse)

    # 2. Late roster exports put ag1 in team T7 from 03-01 and back in T1 from 03-03: the team valid
    # at March's start changes, while ag1's only March day (03-05) keeps T1, so agg_agent_daily
    # rebuilds nothing and the scorecard's month check alone finds March.
    late = datetime(2026, 3, 8, 1)
    insert_rows(
        warehouse,
        "roster",
        [_roster("ag1", "sha", "T7", "2026-03-01", late), _roster("ag1", "sha", "T1", "2026-03-03", late)],
    )
    _run(data_dir, "run")
    assert _logged_dates(warehouse, "agg_agent_daily") == set()
    assert _logged_dates(warehouse, "agg_agent_monthly_scorecard") == {mar}
    assert [(r[0], r[1], r[2]) for r in _scorecard(warehouse)] == [
        (feb, "ag1", "T1"),
        (feb, "ag2", "T1"),
        (mar, "ag1", "T7"),
        (mar, "ag2", "T1"),
    ]
    _assert_equals_full_refresh(data_dir, warehouse)
