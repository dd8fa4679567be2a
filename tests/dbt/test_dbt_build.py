"""`dbt build` (seeds, models, data tests and every unit test) on a telephony-only warehouse.

The instance holds nothing but raw.contact_segments, like a center starting with one telephony
feed: the build must pass, workforce / survey marts must be empty, and the KPI marts must show the
values computed by hand from METRICS.md.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from .conftest import NOT_MINE, query, run_dbt
from .raw_contract import ensure_raw_tables, insert_rows


def _seg(
    contact_id,
    queue,
    entry,
    outcome,
    wait,
    *,
    seq=1,
    source="canonical",
    caller="k-x",
    agent=None,
    talk=0.0,
    hold=0.0,
    acw=0.0,
    direction="inbound",
    transfer_to=None,
):
    entry_ts = datetime.fromisoformat(entry)
    answered = outcome in ("answered", "transferred_out")
    answer_ts = entry_ts + timedelta(seconds=wait) if answered else None
    end_ts = (answer_ts + timedelta(seconds=talk + hold)) if answered else entry_ts + timedelta(seconds=wait)
    return {
        "source_system": source,
        "contact_id": contact_id,
        "segment_seq": seq,
        "channel": "voice",
        "direction": direction,
        "queue_code": queue,
        "caller_key": caller,
        "queue_entry_ts": entry_ts,
        "answer_ts": answer_ts,
        "end_ts": end_ts,
        "agent_id": (agent or "ag1") if answered else None,
        "wait_s": float(wait),
        "talk_s": float(talk) if answered else None,
        "hold_s": float(hold) if answered else None,
        "acw_s": (None if acw is None else float(acw)) if answered else None,
        "outcome": outcome,
        "transfer_type": "blind" if outcome == "transferred_out" else None,
        "transfer_to_queue": transfer_to,
        "disposition": None,
        "complaint": False,
        "resolved": None,
        "source_file": "landing/contact_segments/fixture.csv",
        "source_line": 1,
        "loaded_at": datetime(2026, 11, 1),
    }


def telephony_rows() -> list[dict]:
    rows = []
    # METRICS.md worked example: presales (Asia/Shanghai), interval 10:00 local = 02:00 UTC, T 20 s, S 5 s.
    example = [
        ("answered", 8),
        ("answered", 20),
        ("answered", 35),
        ("abandoned", 3),
        ("abandoned", 12),
        ("abandoned", 50),
        ("timeout", 300),
        ("answered", 15),
        ("answered", 60),
        ("answered", 2),
    ]
    handle = iter([(100, 0, 20), (200, 30, 10), (150, 20, 40)] * 2)
    for i, (outcome, wait) in enumerate(example, start=1):
        talk, hold, acw = next(handle) if outcome == "answered" else (0, 0, 0)
        rows.append(
            _seg(
                f"w{i:02d}",
                "presales",
                f"2026-03-10 02:{i:02d}:00",
                outcome,
                wait,
                caller=f"k-w{i}",
                talk=talk,
                hold=hold,
                acw=acw,
            )
        )
    # Erlang check: 60 calls in one interval with AHT 300 s -> 10 Erlangs -> 14 agents at 80/20.
    for i in range(60):
        rows.append(
            _seg(
                f"e{i:02d}",
                "aftersales",
                "2026-03-11 02:00:00",
                "answered",
                0,
                caller=f"k-e{i}",
                talk=300,
                hold=0,
                acw=0,
            )
        )
    # Spans midnight and an interval boundary: enters 23:59:50 local, answered 00:00:10 the next day.
    # Asterisk-style: no ACW.
    rows.append(
        _seg(
            "m1",
            "complaints",
            "2026-03-10 15:59:50",
            "answered",
            20,
            source="asterisk",
            caller="k-m",
            talk=60,
            acw=None,
        )
    )
    # Connect-style transfer presales -> tech_support.
    rows.append(
        _seg(
            "t1",
            "presales",
            "2026-03-12 03:00:00",
            "transferred_out",
            10,
            source="amazon_connect",
            caller="k-t",
            talk=30,
            transfer_to="tech_support",
        )
    )
    rows.append(
        _seg(
            "t1",
            "tech_support",
            "2026-03-12 03:00:45",
            "answered",
            40,
            seq=2,
            source="amazon_connect",
            caller="k-t",
            talk=90,
            agent="ag2",
            direction="transfer",
        )
    )
    # FCR: caller k-r handled on 12 March and again on 14 March (repeat); withheld caller; unconfigured queue.
    rows.append(_seg("r1", "presales", "2026-03-12 04:00:00", "answered", 5, caller="k-r", talk=50))
    rows.append(_seg("r2", "presales", "2026-03-14 04:00:00", "abandoned", 30, caller="k-r"))
    rows.append(_seg("h1", "vip", "2026-03-12 05:00:00", "answered", 5, caller=None, talk=50))
    # London queue on both DST days of 2026 (29 March, 25 October): spine days of 46 and 50 intervals.
    rows.append(_seg("l1", "intl_support", "2026-03-29 01:10:00", "answered", 4, caller="k-l", talk=100))
    rows.append(_seg("l2", "intl_support", "2026-10-25 01:10:00", "exit_key", 25, caller="k-l2"))
    return rows


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("instance")
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    insert_rows(warehouse, "contact_segments", telephony_rows())
    result = run_dbt(data_dir, "build", "--exclude", *NOT_MINE)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "ERROR=0" in result.stdout
    return warehouse


def test_build_runs_every_unit_test(built_warehouse: Path) -> None:
    results = json.loads((built_warehouse.parent.parent / "dbt_target" / "run_results.json").read_text())
    unit = {
        r["unique_id"].split(".")[-1]: r["status"]
        for r in results["results"]
        if r["unique_id"].startswith("unit_test.")
    }
    assert len(unit) >= 18
    assert set(unit.values()) == {"pass"}
    for name in (
        "test_queue_interval_worked_example",
        "test_fcr_worked_example_with_pending_window",
        "test_csat_nps_worked_example_low_n",
        "test_spring_forward_day_has_46_intervals",
        "test_fall_back_day_has_50_intervals",
        "test_agent_legs_missing_acw_and_midnight_answer",
    ):
        assert unit.get(name) == "pass", name


def test_dst_days_have_46_and_50_intervals(built_warehouse: Path) -> None:
    counts = dict(
        query(
            built_warehouse,
            """
        select time_zone || ' ' || cast(report_date as varchar), count(*) from marts.dim_intervals
        where report_date in ('2026-03-29', '2026-10-25', '2026-03-10') group by all""",
        )
    )
    assert counts["Europe/London 2026-03-29"] == 46
    assert counts["Europe/London 2026-10-25"] == 50
    assert counts["Europe/London 2026-03-10"] == 48
    assert counts["Asia/Shanghai 2026-03-29"] == 48


def test_worked_example_interval(built_warehouse: Path) -> None:
    row = query(
        built_warehouse,
        """
        select offered, answered, abandoned, short_abandoned, timeout, answered_within_t, abandoned_within_t,
               sl_num, sl_den, sl_ignore_num, sl_ignore_den, sl_negative_den, sl_positive_num, sl_answered_den,
               abandon_rate_num, abandon_rate_den, asa_num, asa_den, wait_abandoned_s, aht_num, aht_den, held, reconciles
        from marts.agg_queue_interval
        where queue_code = 'presales' and interval_start_local = '2026-03-10 10:00:00'""",
    )[0]
    assert row == (10, 6, 3, 1, 1, 4, 2, 4, 9, 4, 8, 10, 6, 6, 2, 9, 140, 6, 65, 1140, 6, 4, True)


def test_reconciliation_holds_everywhere(built_warehouse: Path) -> None:
    bad = query(built_warehouse, "select count(*) from marts.agg_queue_interval where not reconciles")[0][0]
    assert bad == 0
    totals = query(built_warehouse, "select sum(offered), sum(handled) from marts.agg_queue_interval")[0]
    assert totals == (len(telephony_rows()), 60 + 6 + 1 + 2 + 1 + 1 + 1)  # every stint and queue leg kept


def test_midnight_contact_and_missing_acw(built_warehouse: Path) -> None:
    stint = query(
        built_warehouse,
        """
        select report_date, interval_start_local from marts.fct_queue_stints where contact_id = 'm1'""",
    )[0]
    assert stint == (date(2026, 3, 10), datetime(2026, 3, 10, 23, 30))
    leg = query(
        built_warehouse,
        """
        select report_date, interval_start_local, acw_s, acw_missing, handle_s
        from marts.fct_agent_segments where contact_id = 'm1'""",
    )[0]
    assert leg == (date(2026, 3, 11), datetime(2026, 3, 11, 0, 0), None, True, 60.0)


def test_transfer_fcr_and_unconfigured_queue(built_warehouse: Path) -> None:
    contacts = dict(
        query(
            built_warehouse,
            """
        select contact_id, fcr_status || '/' || cast(transferred as varchar) || '/' || last_queue_code
        from marts.fct_contacts where contact_id in ('t1', 'r1', 'h1', 'l2')""",
        )
    )
    assert contacts["t1"] == "resolved/true/tech_support"
    assert contacts["r1"] == "repeat/false/presales"
    assert contacts["h1"] == "no_caller_key/false/vip"
    assert contacts["l2"] == "not_handled/false/intl_support"
    vip = query(
        built_warehouse,
        """
        select sl_threshold_s, short_abandon_s, fcr_window_days, time_zone, is_configured
        from marts.dim_queues where queue_code = 'vip'""",
    )[0]
    assert vip == (20.0, 5.0, 7, "Asia/Shanghai", False)


def test_erlang_staffing_check_values(built_warehouse: Path) -> None:
    row = query(
        built_warehouse,
        """
        select offered, aht_s, traffic_erlangs, required_agents_c, round(erlang_c_service_level, 3),
               shrinkage, required_scheduled, uses_erlang_a
        from marts.agg_staffing_interval
        where queue_code = 'aftersales' and interval_start_local = '2026-03-11 10:00:00'""",
    )[0]
    assert row == (60, 300.0, 10.0, 14, 0.867, 0.3, 20, False)


def test_absent_sources_give_empty_marts(built_warehouse: Path) -> None:
    for table in ("agg_schedule_compliance", "agg_min_cover_interval", "dim_agents", "dq_quarantine_summary"):
        assert query(built_warehouse, f"select count(*) from marts.{table}")[0][0] == 0, table
    agent_days = query(
        built_warehouse,
        """
        select sum(handled), sum(logged_in_s), sum(scheduled_s) from marts.agg_agent_daily""",
    )[0]
    assert agent_days == (72, 0, 0)  # 6 + 60 + 1 + 2 + 1 + 1 + 1 legs
    csat = query(built_warehouse, "select sum(responses), sum(csat_n) from marts.agg_csat_daily")[0]
    assert csat == (0, 0)
