"""The dashboards' daily marts (agg_complaints_daily, agg_contact_outcomes_daily) built
incrementally over two loads equal a full rebuild, including a contact whose first complaint
segment (the one it counts at) arrives late on the day before the segment already counted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from .conftest import NOT_MINE, query, run_dbt
from .raw_contract import ensure_raw_tables, insert_rows
from .test_dbt_build import _seg

MARTS = ["agg_complaints_daily", "agg_contact_outcomes_daily"]
# loaded_at and written_at say when the rows behind a row were loaded and written, not what it counts
COMPARED = "columns(lambda c: c not in ('loaded_at', 'written_at'))"


def _run(data_dir: Path, *args: str) -> None:
    select = ["--select", *(f"+{m}" for m in MARTS), "--exclude", *NOT_MINE]
    result = run_dbt(data_dir, *args, *select)
    assert result.returncode == 0, result.stdout[-5000:]


def _complaint(reason: str, at: datetime, *args, **kwargs) -> dict:
    return {**_seg(*args, **kwargs), "complaint": True, "disposition": reason, "loaded_at": at}


def test_late_first_complaint_segment_moves_the_count_like_a_full_rebuild(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    first, second = datetime(2026, 3, 12, 1), datetime(2026, 3, 13, 1)
    # presales is Asia/Shanghai (UTC+8): 15:55 UTC = 23:55 on 03-10, 16:10 UTC = 00:10 on 03-11
    insert_rows(
        warehouse,
        "contact_segments",
        [
            _complaint(
                "delay", first, "late", "tech_support", "2026-03-10 16:10:00", "answered", 5, seq=2, talk=60
            ),
            _complaint(
                "billing", first, "q", "presales", "2026-03-10 02:00:00", "answered", 5, caller="k-q", talk=60
            ),
        ],
    )
    _run(data_dir, "seed")
    _run(data_dir, "run")
    assert query(
        warehouse,
        "select report_date::varchar, queue_code, complaint_contacts from marts.agg_complaints_daily "
        "where disposition = 'delay'",
    ) == [("2026-03-11", "tech_support", 1)]

    insert_rows(
        warehouse,
        "contact_segments",
        [
            # the late contact's first leg, same reason: it now counts here, on 03-10, and not on 03-11
            _complaint(
                "delay",
                second,
                "late",
                "presales",
                "2026-03-10 15:55:00",
                "transferred_out",
                5,
                talk=60,
                transfer_to="tech_support",
            ),
            _complaint(
                "rude_agent",
                second,
                "r",
                "presales",
                "2026-03-11 03:00:00",
                "answered",
                5,
                caller="k-r",
                talk=60,
            ),
        ],
    )
    _run(data_dir, "run")
    assert query(
        warehouse,
        "select report_date::varchar, queue_code, disposition, complaint_contacts from marts.agg_complaints_daily "
        "order by 1, 3",
    ) == [
        ("2026-03-10", "presales", "billing", 1),
        ("2026-03-10", "presales", "delay", 1),
        ("2026-03-11", "presales", "rude_agent", 1),
    ]
    con = duckdb.connect(str(warehouse))
    try:
        for table in MARTS:
            con.execute(f"create table main.incremental_{table} as select {COMPARED} from marts.{table}")
    finally:
        con.close()

    _run(data_dir, "run", "--full-refresh")
    for table in MARTS:
        diff = query(
            warehouse,
            f"""
            select count(*) from (
                (select * from main.incremental_{table} except all select {COMPARED} from marts.{table})
                union all
                (select {COMPARED} from marts.{table} except all select * from main.incremental_{table})
            )""",
        )[0][0]
        rows = query(warehouse, f"select count(*) from marts.{table}")[0][0]
        assert rows > 0 and diff == 0, table
