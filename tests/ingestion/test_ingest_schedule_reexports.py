"""A schedule re-export replaces the plan of every agent-day it lists (ingestion/schedule_exports.py).

Shanghai is UTC+8: 09:00 local is 01:00 UTC. The first export plans A1 on 03-02 (work 09-18,
lunch 12-13, break 15:00-15:15) and 03-03, and A2 on 03-02 (work, break 10:30). The re-export
lists A1's 03-02 (shift now ends 17:00 — same natural key as before —, lunch unchanged, break
moved to 16:00) and A2's 03-02 (a leave day). A1's 03-03 is not listed, so it keeps its plan.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from ingest_helpers import KEY, assert_accounting, query

from ingestion import ingest_paths
from ingestion.loader import forget_files
from ingestion.schema import LINEAGE, RAW_TABLES

HEADER = "工号,日期,班次,开始时间,结束时间,活动"
FIRST = [
    "A1,2026-03-02,D1,09:00,18:00,上班",
    "A1,2026-03-02,D1,12:00,13:00,午餐",
    "A1,2026-03-02,D1,15:00,15:15,小休",
    "A1,2026-03-03,D1,09:00,18:00,上班",
    "A2,2026-03-02,D1,09:00,18:00,上班",
    "A2,2026-03-02,D1,10:30,10:45,小休",
]
REEXPORT = [
    "A1,2026-03-02,D1,09:00,17:00,上班",
    "A1,2026-03-02,D1,12:00,13:00,午餐",
    "A1,2026-03-02,D1,16:00,16:15,小休",
    "A2,2026-03-02,假,2026-03-02 00:00,2026-03-03 00:00,请假",
]
ROWS = "select agent_id, schedule_date, start_ts, end_ts, activity from raw.schedules order by 1, 2, 3, 5"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute)


AFTER_FIRST = [
    ("A1", date(2026, 3, 2), utc(2, 1), utc(2, 10), "work"),
    ("A1", date(2026, 3, 2), utc(2, 4), utc(2, 5), "lunch"),
    ("A1", date(2026, 3, 2), utc(2, 7), utc(2, 7, 15), "break"),
    ("A1", date(2026, 3, 3), utc(3, 1), utc(3, 10), "work"),
    ("A2", date(2026, 3, 2), utc(2, 1), utc(2, 10), "work"),
    ("A2", date(2026, 3, 2), utc(2, 2, 30), utc(2, 2, 45), "break"),
]
AFTER_REEXPORT = [
    ("A1", date(2026, 3, 2), utc(2, 1), utc(2, 9), "work"),
    ("A1", date(2026, 3, 2), utc(2, 4), utc(2, 5), "lunch"),
    ("A1", date(2026, 3, 2), utc(2, 8), utc(2, 8, 15), "break"),
    ("A1", date(2026, 3, 3), utc(3, 1), utc(3, 10), "work"),
    ("A2", date(2026, 3, 2), utc(1, 16), utc(2, 16), "leave"),
]


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def exports(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "schedules"
    return (
        _write(folder, "schedule_2026-03_sha.csv", FIRST),
        _write(folder, "schedule_2026-03_sha_reexport.csv", REEXPORT),
    )


def _replaced(warehouse: Path) -> list[tuple]:
    return query(
        warehouse,
        """select agent_id, start_ts, end_ts, activity, source_file like '%sha.csv',
                  replaced_by like '%sha_reexport.csv'
           from raw.schedules_replaced order by 1, 2, 4""",
    )


def _nothing_lost(warehouse: Path) -> None:
    """Every row ever loaded is either in the plan or in the record of replaced rows."""
    (loaded,) = query(warehouse, "select sum(rows_loaded) from raw.file_manifest where source = 'schedules'")[
        0
    ]
    (stored,) = query(
        warehouse,
        "select (select count(*) from raw.schedules) + (select count(*) from raw.schedules_replaced)",
    )[0]
    assert stored == loaded


def _assert_reexport_applied(warehouse: Path) -> None:
    assert query(warehouse, ROWS) == AFTER_REEXPORT
    assert _replaced(warehouse) == [
        ("A1", utc(2, 1), utc(2, 10), "work", True, True),  # the old end time
        ("A1", utc(2, 7), utc(2, 7, 15), "break", True, True),  # the moved break
        ("A2", utc(2, 1), utc(2, 10), "work", True, True),  # the day became leave
        ("A2", utc(2, 2, 30), utc(2, 2, 45), "break", True, True),
    ]
    # the unchanged lunch keeps its first lineage
    assert query(
        warehouse, "select source_file like '%sha.csv' from raw.schedules where activity = 'lunch'"
    ) == [(True,)]
    _nothing_lost(warehouse)


def test_reexport_replaces_the_days_it_lists(warehouse, exports):
    first, reexport = exports
    (r1,) = ingest_paths(warehouse, [first], KEY)
    assert (r1.rows_read, r1.rows_loaded, r1.rows_duplicate) == (6, 6, 0)
    assert query(warehouse, ROWS) == AFTER_FIRST
    (r2,) = ingest_paths(warehouse, [reexport], KEY)
    assert_accounting([r1, r2])
    # the lunch is repeated exactly: a duplicate; the new end time, break and leave are loaded
    assert (r2.status, r2.rows_read, r2.rows_loaded, r2.rows_duplicate) == ("loaded", 4, 3, 1)
    assert "replaced 4 rows of earlier exports on 2 agent-days" in r2.message
    _assert_reexport_applied(warehouse)


def test_both_exports_in_one_run_load_in_turn(warehouse, exports):
    results = ingest_paths(warehouse, list(exports), KEY)
    assert_accounting(results)
    assert [(r.rows_loaded, r.rows_duplicate) for r in results] == [(6, 0), (3, 1)]
    assert not any("loaded in a batch" in r.message for r in results)  # one agent-day, two plans
    _assert_reexport_applied(warehouse)
    # loading them again changes nothing
    again = ingest_paths(warehouse, list(exports), KEY)
    assert [r.status for r in again] == ["already_loaded", "already_loaded"]
    _assert_reexport_applied(warehouse)


def test_reexport_in_a_batch_with_another_month(warehouse, exports, tmp_path):
    first, reexport = exports
    april = _write(tmp_path / "schedules", "schedule_2026-04_sha.csv", ["A1,2026-04-01,D1,09:00,18:00,上班"])
    ingest_paths(warehouse, [first], KEY)
    results = ingest_paths(warehouse, [reexport, april], KEY)
    assert_accounting(results)
    assert all("loaded in a batch of 2 files" in r.message for r in results)
    assert "replaced 4 rows of earlier exports on 2 agent-days" in results[0].message
    assert "replaced" not in results[1].message
    april_shift = ("A1", date(2026, 4, 1), datetime(2026, 4, 1, 1), datetime(2026, 4, 1, 10), "work")
    assert query(warehouse, ROWS) == [*AFTER_REEXPORT[:4], april_shift, AFTER_REEXPORT[4]]
    _nothing_lost(warehouse)


def test_reexport_decided_row_by_row_replaces_the_same_rows(warehouse, exports):
    """A malformed line sends the file down the Python path (readers/mapped.py): same rule."""
    first, reexport = exports
    reexport.write_text(reexport.read_text(encoding="utf-8") + "A3,2026-03-02,D1\n", encoding="utf-8")
    ingest_paths(warehouse, [first], KEY)
    (r2,) = ingest_paths(warehouse, [reexport], KEY)
    assert_accounting([r2])
    assert (r2.rows_read, r2.rows_loaded, r2.rows_quarantined, r2.rows_duplicate) == (5, 3, 1, 1)
    assert "replaced 4 rows" in r2.message
    _assert_reexport_applied(warehouse)


def test_an_identical_reexport_replaces_nothing(warehouse, exports, tmp_path):
    first, _ = exports
    same = _write(tmp_path / "schedules", "schedule_2026-03_sha_again.csv", FIRST[:3])
    ingest_paths(warehouse, [first], KEY)
    (r,) = ingest_paths(warehouse, [same], KEY)
    assert (r.rows_loaded, r.rows_duplicate) == (0, 3)
    assert "replaced" not in r.message
    assert query(warehouse, ROWS) == AFTER_FIRST
    assert _replaced(warehouse) == []


def test_forgetting_the_reexport_brings_the_old_plan_back(warehouse, exports):
    first, reexport = exports
    ingest_paths(warehouse, list(exports), KEY)
    (name,) = query(
        warehouse, "select file_path from raw.file_manifest where file_path like '%sha_reexport.csv'"
    )[0]
    assert forget_files(warehouse, [name]) == 1
    assert query(warehouse, ROWS) == AFTER_FIRST
    assert _replaced(warehouse) == []
    # re-ingesting it (a day reloaded after a reader fix) applies it again
    ingest_paths(warehouse, [reexport], KEY)
    _assert_reexport_applied(warehouse)


def test_a_later_reexport_stays_when_an_earlier_one_is_forgotten(warehouse, exports, tmp_path):
    """first → reexport → third (A1's 03-02 again, break back at 15:00); forgetting the middle
    export must not bring the first export's rows back into a day the third export planned."""
    first, reexport = exports
    third = _write(tmp_path / "schedules", "schedule_2026-03_sha_reexport2.csv", FIRST[:3])
    ingest_paths(warehouse, [first, reexport, third], KEY)
    (middle,) = query(
        warehouse, "select file_path from raw.file_manifest where file_path like '%sha_reexport.csv'"
    )[0]
    forget_files(warehouse, [middle])
    rows = query(warehouse, ROWS)
    # A1's 03-02 stays the third export's plan (its lunch kept the first export's lineage)
    a1_day = [r for r in rows if r[0] == "A1" and r[1] == date(2026, 3, 2)]
    assert a1_day == AFTER_FIRST[:3]
    # A2's 03-02 was planned last by the forgotten export: the first export's plan comes back
    assert [r for r in rows if r[0] == "A2"] == AFTER_FIRST[4:]


def test_replaced_table_has_the_schedule_columns_plus_what_replaced_them(warehouse, exports):
    ingest_paths(warehouse, [exports[0]], KEY)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cols = [r[0] for r in con.execute("describe raw.schedules_replaced").fetchall()]
    finally:
        con.close()
    assert cols == [c for c, _ in RAW_TABLES["schedules"] + LINEAGE] + ["replaced_by", "replaced_at"]
