"""Incremental facts: a new day plus a late row for an old day, loaded after the first build,
must give exactly what a full rebuild gives (fct_queue_stints, fct_agent_segments,
agg_queue_interval, agg_staffing_interval are delete+insert by report_date, watermarked by raw
loaded_at)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from .conftest import NOT_MINE, query, run_dbt
from .raw_contract import ensure_raw_tables, insert_rows
from .test_dbt_build import _seg

INCREMENTAL = ["fct_queue_stints", "fct_agent_segments", "agg_queue_interval", "agg_staffing_interval"]


def _run(data_dir: Path, *args: str) -> None:
    result = run_dbt(data_dir, *args, "--select", "+agg_staffing_interval", "--exclude", *NOT_MINE)
    assert result.returncode == 0, result.stdout[-5000:]


def _loaded(rows: list[dict], at: datetime) -> list[dict]:
    return [{**r, "loaded_at": at} for r in rows]


def test_new_day_and_late_row_match_full_rebuild(tmp_path: Path) -> None:
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
        _seg("d2a", "presales", "2026-03-11 02:00:00", "answered", 25, talk=200),
        _seg("d1c", "presales", "2026-03-10 02:20:00", "answered", 5, talk=50),  # late row for day 1
    ]
    insert_rows(warehouse, "contact_segments", _loaded(later, datetime(2026, 3, 12, 1)))
    _run(data_dir, "run")

    day1_interval = query(
        warehouse,
        """
        select offered, answered, abandoned, answered_within_t, handled from marts.agg_queue_interval
        where queue_code = 'presales' and interval_start_local = '2026-03-10 10:00:00'""",
    )[0]
    assert day1_interval == (3, 2, 1, 2, 2)
    con = duckdb.connect(str(warehouse))
    try:
        for table in INCREMENTAL:
            con.execute(f"create table main.incremental_{table} as select * from marts.{table}")
    finally:
        con.close()

    _run(data_dir, "run", "--full-refresh")
    for table in INCREMENTAL:
        diff = query(
            warehouse,
            f"""
            select count(*) from (
                (select * from main.incremental_{table} except all select * from marts.{table})
                union all
                (select * from marts.{table} except all select * from main.incremental_{table})
            )""",
        )[0][0]
        rows = query(warehouse, f"select count(*) from marts.{table}")[0][0]
        assert rows > 0 and diff == 0, table
