"""Incremental facts: a new day plus a late row for an old day, loaded after the first build,
must give exactly what a full rebuild gives (fct_queue_stints, fct_agent_segments,
agg_queue_interval, agg_staffing_interval are delete+insert by report_date, watermarked by raw
loaded_at)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb

from callcenter.pipeline import PRODUCTION_DBT_BUILD_ARGS

from .conftest import NOT_MINE, SAME_ROWS, query, run_dbt
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
    _run(data_dir, "run")  # nothing new: every incremental model selects no rows and must still succeed

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
            con.execute(f"create table main.incremental_{table} as select {SAME_ROWS} from marts.{table}")
    finally:
        con.close()

    _run(data_dir, "run", "--full-refresh")
    for table in INCREMENTAL:
        diff = query(
            warehouse,
            f"""
            select count(*) from (
                (select * from main.incremental_{table} except all select {SAME_ROWS} from marts.{table})
                union all
                (select {SAME_ROWS} from marts.{table} except all select * from main.incremental_{table})
            )""",
        )[0][0]
        rows = query(warehouse, f"select count(*) from marts.{table}")[0][0]
        assert rows > 0 and diff == 0, table


# ------------------------------------------------------------------------------------------------
# Incremental FCR: a new day recomputes only the trailing FCR window (macros/fcr_incremental.sql).

FCR_CHAIN = [
    "int_contacts_assembled",
    "int_contacts_repeat_flagged",
    "fct_contacts",
    "agg_fcr_daily",
    "agg_csat_daily",
]
SCHEMA = {"int_contacts_assembled": "intermediate", "int_contacts_repeat_flagged": "intermediate"}


def _build_fcr_chain(data_dir: Path, *extra: str) -> dict:
    """`dbt build` of the FCR chain as production runs it (no unit tests); returns run_results."""
    select = ["--select", "+agg_fcr_daily", "+agg_csat_daily", "--exclude", *NOT_MINE]
    # cautious: only data tests whose every parent is built here (a reconciliation test also
    # reading agg_center_daily would otherwise be selected through fct_contacts)
    select += ["--indirect-selection", "cautious"]
    result = run_dbt(data_dir, "build", *PRODUCTION_DBT_BUILD_ARGS, *select, *extra)
    assert result.returncode == 0, result.stdout[-5000:]
    return json.loads((data_dir / "dbt_target" / "run_results.json").read_text())


def _survey(contact_id: str, csat: int, at: datetime) -> dict:
    return {
        "contact_id": contact_id,
        "responded_at": at,
        "csat": csat,
        "nps": 9,
        "resolved": True,
        "comment": None,
        "source_file": "landing/customer_surveys/fixture.csv",
        "source_line": 1,
        "loaded_at": at,
    }


def test_fcr_new_day_recomputes_trailing_window_like_full_refresh(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    first_load, second_load = datetime(2026, 3, 13, 1), datetime(2026, 3, 14, 1)
    history = [
        # b-old: handled 12 days before B calls again (outside W = 7): stays resolved, and its
        # repeat_contact_ts stays null (the new contact is beyond its window).
        _seg("b-old", "presales", "2026-03-01 04:00:00", "answered", 5, caller="k-b", talk=60),
        # d: window ends 03-12 05:00, after the first data end (pending), before the second (resolved).
        _seg("d", "presales", "2026-03-05 05:00:00", "answered", 5, caller="k-d", talk=60),
        # a: handled 03-10; A calls again on the new day, within W: becomes a repeat three days back.
        _seg("a", "presales", "2026-03-10 04:00:00", "answered", 5, caller="k-a", talk=60),
        _seg("c", "presales", "2026-03-11 04:00:00", "answered", 5, caller="k-c", talk=60),
        # x: answered then transferred; its second leg arrives late, with the new day.
        _seg("x", "presales", "2026-03-11 06:00:00", "transferred_out", 5, caller="k-x", talk=30),
        _seg("e", "tech_support", "2026-03-12 02:00:00", "answered", 5, caller="k-e", talk=60),
        _seg("w", "presales", "2026-03-12 03:00:00", "answered", 5, caller=None, talk=60),
    ]
    insert_rows(warehouse, "contact_segments", _loaded(history, first_load))
    insert_rows(warehouse, "customer_surveys", [_survey("c", 5, first_load)])
    run_results = _build_fcr_chain(data_dir)
    assert not [r for r in run_results["results"] if r["unique_id"].startswith("unit_test.")]
    before = dict(query(warehouse, "select contact_id, fcr_status from marts.fct_contacts"))
    assert (before["a"], before["d"], before["b-old"]) == ("pending", "pending", "resolved")

    new_day = [
        _seg("a2", "presales", "2026-03-13 04:00:00", "abandoned", 30, caller="k-a"),
        _seg("b2", "presales", "2026-03-13 05:00:00", "answered", 5, caller="k-b", talk=60),
        _seg("e2", "presales", "2026-03-13 06:00:00", "answered", 5, caller="k-e", talk=60),
        _seg("x", "tech_support", "2026-03-11 06:01:00", "answered", 10, seq=2, caller="k-x", talk=90,
             agent="ag2", direction="transfer"),
    ]  # fmt: skip
    insert_rows(warehouse, "contact_segments", _loaded(new_day, second_load))
    insert_rows(warehouse, "customer_surveys", [_survey("a", 2, second_load)])
    _build_fcr_chain(data_dir)

    after = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select contact_id, fcr_status, repeat_contact_ts, csat, agent_segments from marts.fct_contacts",
        )
    }
    assert after["a"][:3] == ("repeat", datetime(2026, 3, 13, 4), 2)
    assert after["b-old"][:2] == ("resolved", None)
    assert after["e"][1] == datetime(2026, 3, 13, 6)  # e2 is within e's window
    assert after["d"][0] == "resolved"
    assert after["c"][0] == "pending" and after["c"][2] == 5
    assert after["e"][0] == "repeat"
    assert after["x"][3] == 2
    assert after["w"][0] == "no_caller_key"
    _assert_fcr_chain_equals_full_refresh(data_dir, warehouse)


def _assert_fcr_chain_equals_full_refresh(
    data_dir: Path, warehouse: Path, tables: list[str] = FCR_CHAIN
) -> None:
    """`tables` of the FCR chain as the incremental runs left them equal a --full-refresh of the
    same raw rows."""
    con = duckdb.connect(str(warehouse))
    try:
        for table in tables:
            con.execute(
                f"create or replace table main.incremental_{table} as select {SAME_ROWS} from {SCHEMA.get(table, 'marts')}.{table}"
            )
    finally:
        con.close()

    _build_fcr_chain(data_dir, "--full-refresh")
    for table in tables:
        relation = f"{SCHEMA.get(table, 'marts')}.{table}"
        diff = query(
            warehouse,
            f"""
            select count(*) from (
                (select * from main.incremental_{table} except all select {SAME_ROWS} from {relation})
                union all
                (select {SAME_ROWS} from {relation} except all select * from main.incremental_{table})
            )""",
        )[0][0]
        rows = query(warehouse, f"select count(*) from {relation}")[0][0]
        assert rows > 0 and diff == 0, table


def test_fcr_contact_whose_start_moves_later_recomputes_the_contacts_it_repeated(tmp_path: Path) -> None:
    # A forgotten and reloaded file can move a contact's start later. The contacts whose repeat it
    # was lie up to W days before its old start, which may be earlier than both the new start's
    # window and the previous data end. The daily aggregates follow the rows fct_contacts rewrote.
    data_dir = tmp_path / "instance"
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    first_load, second_load = datetime(2026, 3, 21, 1), datetime(2026, 3, 22, 1)
    history = [
        _seg("p", "presales", "2026-03-02 04:00:00", "answered", 5, caller="k-p", talk=60),
        _seg("m", "presales", "2026-03-05 04:00:00", "abandoned", 20, caller="k-p"),
        _seg("z", "presales", "2026-03-20 04:00:00", "answered", 5, caller="k-z", talk=60),  # data end
    ]
    insert_rows(warehouse, "contact_segments", _loaded(history, first_load))
    _build_fcr_chain(data_dir)
    before = dict(query(warehouse, "select contact_id, fcr_status from marts.fct_contacts"))
    assert before["p"] == "repeat"

    con = duckdb.connect(str(warehouse))
    try:  # what forget_files does to the contact's rows before its file is loaded again
        con.execute("delete from raw.contact_segments where contact_id = 'm'")
    finally:
        con.close()
    reloaded = [_seg("m", "presales", "2026-03-12 04:00:00", "abandoned", 20, caller="k-p")]
    insert_rows(warehouse, "contact_segments", _loaded(reloaded, second_load))
    _build_fcr_chain(data_dir)

    after = {
        r[0]: r[1:]
        for r in query(warehouse, "select contact_id, fcr_status, repeat_contact_ts from marts.fct_contacts")
    }
    assert after["p"] == ("resolved", None)  # m now starts 10 days after p: beyond W = 7
    # p's day, 10 days before the new start and 3 before the old one, counts p as resolved now
    assert query(
        warehouse,
        "select fcr_repeat_num, repeat_num from marts.agg_fcr_daily where report_date = '2026-03-02'",
    ) == [(1, 0)]
    _assert_fcr_chain_equals_full_refresh(data_dir, warehouse)
