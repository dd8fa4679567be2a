"""fct_abandoned_stints built incrementally (its dates to rebuild written into the query as date
literals by touched_report_date_list) equals a full rebuild: a new day, a late abandon on an old
day, and a run with nothing new (the literal list is then `null` and selects no row)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb

from .conftest import NOT_MINE, query, run_dbt
from .raw_contract import ensure_raw_tables, insert_rows
from .test_dbt_build import _seg


def _run(data_dir: Path, *args: str) -> str:
    result = run_dbt(data_dir, *args, "--select", "+fct_abandoned_stints", "--exclude", *NOT_MINE)
    assert result.returncode == 0, result.stdout[-5000:]
    return result.stdout


def _loaded(rows: list[dict], at: datetime) -> list[dict]:
    return [{**r, "loaded_at": at} for r in rows]


def test_new_day_late_abandon_and_idle_run_match_full_rebuild(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    day1 = [
        _seg("d1a", "presales", "2026-03-10 02:00:00", "answered", 10, talk=100),
        _seg("d1b", "presales", "2026-03-10 02:10:00", "abandoned", 30),
    ]
    insert_rows(warehouse, "contact_segments", _loaded(day1, datetime(2026, 3, 11, 1)))
    _run(data_dir, "seed")
    _run(data_dir, "run")
    later = [
        _seg("d2a", "presales", "2026-03-11 02:00:00", "abandoned", 25),
        _seg("d1c", "presales", "2026-03-10 02:20:00", "abandoned", 5),  # late abandon for day 1
    ]
    insert_rows(warehouse, "contact_segments", _loaded(later, datetime(2026, 3, 12, 1)))
    _run(data_dir, "run")
    compiled = next((data_dir / "dbt_target").rglob("compiled/**/fct_abandoned_stints.sql")).read_text()
    in_list = compiled[compiled.index("report_date in (") :].split("\n")[0]
    assert sorted(re.findall(r"cast\('([0-9-]+)' as date\)", in_list)) == ["2026-03-10", "2026-03-11"]
    _run(data_dir, "run")  # nothing new: `in (null)`, no row replaced, still succeeds
    compiled = next((data_dir / "dbt_target").rglob("compiled/**/fct_abandoned_stints.sql")).read_text()
    assert "in (null)" in compiled
    assert sorted(
        query(warehouse, "select contact_id, report_date::varchar from marts.fct_abandoned_stints")
    ) == [
        ("d1b", "2026-03-10"),
        ("d1c", "2026-03-10"),
        ("d2a", "2026-03-11"),
    ]
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create table main.incremental_abandoned as select * from marts.fct_abandoned_stints")
    finally:
        con.close()
    _run(data_dir, "run", "--full-refresh")
    diff = query(
        warehouse,
        """
        select count(*) from (
            (select * from main.incremental_abandoned except all select * from marts.fct_abandoned_stints)
            union all
            (select * from marts.fct_abandoned_stints except all select * from main.incremental_abandoned)
        )""",
    )[0][0]
    assert diff == 0
