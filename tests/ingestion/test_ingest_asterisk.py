"""Asterisk queue_log + Master.csv: segments, waits, transfers, split calls, agent states, CDR callers."""

from __future__ import annotations

from datetime import datetime

from ingest_helpers import KEY, assert_accounting, caller_key, query, snapshot

from ingestion import ingest_paths

DAY1 = "asterisk/queue_log-20260302"
DAY2 = "asterisk/queue_log-20260303"
CDR = "asterisk/Master.csv"

SEGMENT_SQL = """select contact_id, segment_seq, direction, queue_code, outcome, wait_s, talk_s, hold_s, acw_s,
                        agent_id, transfer_type, transfer_to_queue
                 from raw.contact_segments where source_system = 'asterisk' order by 1, 2"""


def test_queue_log_builds_segments_with_wait_from_holdtime(warehouse, fixture_copy):
    day1, day2 = fixture_copy(DAY1, DAY2)
    results = ingest_paths(warehouse, [day1, day2], KEY)
    assert_accounting(results)
    r1, r2 = results
    assert (r1.rows_read, r1.rows_loaded, r1.rows_quarantined, r1.rows_duplicate) == (29, 26, 3, 0)
    assert (r2.rows_read, r2.rows_loaded, r2.rows_duplicate) == (5, 3, 2)  # 2 lines re-exported
    assert query(warehouse, SEGMENT_SQL) == [
        ("1772413200.101", 1, "inbound", "sales", "answered", 12.0, 270.0, None, None, "1001", None, None),
        ("1772413800.202", 1, "inbound", "sales", "abandoned", 40.0, None, None, None, None, None, None),
        ("1772414400.303", 1, "inbound", "sales", "timeout", 300.0, None, None, None, None, None, None),
        ("1772415000.404", 1, "inbound", "support", "exit_key", 20.0, None, None, None, None, None, None),
        ("1772416800.505", 1, "inbound", "sales", "transferred_out", 8.0, 60.0, None, None, "1001", "blind", "support"),
        ("1772416800.505", 2, "transfer", "support", "answered", 12.0, 120.0, None, None, "1002", None, None),
        # entered the queue before midnight (day 1 file), completed after (day 2 file)
        ("1772467080.707", 1, "inbound", "sales", "answered", 10.0, 300.0, None, None, "1001", None, None),
    ]  # fmt: skip
    reasons = sorted(r for (r,) in query(warehouse, "select reason from raw.quarantine"))
    assert reasons == ["bad timestamp", "negative duration ringtime_ms", "unknown event XYZZY"]
    keys = dict(
        query(warehouse, "select contact_id, caller_key from raw.contact_segments where segment_seq = 1")
    )
    assert keys["1772413200.101"] == caller_key("+8613800138000")
    assert keys["1772413800.202"] == caller_key("+8613900139000")
    assert keys["1772416800.505"] == caller_key("+8613600136000")  # '136 0013 6000' normalised
    assert keys["1772414400.303"] is None  # anonymous
    # the number never reaches the event store
    assert not query(
        warehouse, "select * from raw.asterisk_queue_log where data2 like '%138%' or data2 like '%136%'"
    )


def test_split_call_assembles_whatever_the_file_order(warehouse, tmp_path, fixture_copy):
    day1, day2 = fixture_copy(DAY1, DAY2)
    day2.write_text("".join(day2.read_text().splitlines(keepends=True)[2:]))  # no overlap with day 1
    ingest_paths(warehouse, [day2], KEY)  # COMPLETEAGENT without its ENTERQUEUE: pending, no segment
    assert (
        query(warehouse, "select count(*) from raw.contact_segments where contact_id = '1772467080.707'")[0][
            0
        ]
        == 0
    )
    ingest_paths(warehouse, [day1], KEY)
    other = tmp_path / "other.duckdb"
    ingest_paths(other, [day1, day2], KEY)
    assert query(warehouse, SEGMENT_SQL) == query(other, SEGMENT_SQL)
    states = "select agent_id, state, reason, start_ts, end_ts from raw.agent_states order by all"
    assert query(warehouse, states) == query(other, states) and len(query(other, states)) == 14


def test_agent_states_from_login_members_pauses_and_calls(warehouse, fixture_copy):
    ingest_paths(warehouse, fixture_copy(DAY1, DAY2), KEY)
    states = query(
        warehouse,
        """select agent_id, state, reason, start_ts, end_ts from raw.agent_states
           where source_system = 'asterisk' and agent_id = '1002' order by start_ts, state""",
    )
    t = lambda h, m: datetime(2026, 3, 2, h, m)  # noqa: E731
    assert states == [
        ("1002", "available", None, datetime(2026, 3, 2, 0, 58, 30), datetime(2026, 3, 2, 2, 1, 20)),
        ("1002", "logged_in", None, datetime(2026, 3, 2, 0, 58, 30), None),
        ("1002", "on_contact", None, datetime(2026, 3, 2, 2, 1, 20), datetime(2026, 3, 2, 2, 3, 20)),
        ("1002", "available", None, datetime(2026, 3, 2, 2, 3, 20), t(4, 0)),
        ("1002", "not_ready", "lunch", t(4, 0), t(4, 30)),
        ("1002", "available", None, t(4, 30), None),
    ]
    session = query(
        warehouse,
        "select start_ts, end_ts from raw.agent_states where agent_id = '1001' and state = 'logged_in'",
    )
    assert session == [(datetime(2026, 3, 2, 0, 58), datetime(2026, 3, 2, 16, 30))]


def test_cdr_adds_the_caller_missing_from_enterqueue_in_any_order(warehouse, tmp_path, fixture_copy):
    day1, cdr = fixture_copy(DAY1, CDR)
    results = ingest_paths(warehouse, [day1, cdr], KEY)
    assert_accounting(results)
    assert (results[1].rows_read, results[1].rows_loaded, results[1].rows_quarantined) == (4, 2, 2)
    sql = "select caller_key from raw.contact_segments where contact_id = '1772415000.404'"
    assert query(warehouse, sql) == [(caller_key("+8613700137000"),)]
    other = tmp_path / "other.duckdb"
    ingest_paths(other, [cdr, day1], KEY)
    assert query(other, sql) == [(caller_key("+8613700137000"),)]
    assert sorted(
        r for (r,) in query(warehouse, "select reason from raw.quarantine where source = 'asterisk_cdr'")
    ) == [
        "excel-mangled caller number",
        "negative duration",
    ]
    # CDR local time (Asia/Shanghai) stored as UTC
    assert query(warehouse, "select start_ts from raw.asterisk_cdr where uniqueid = '1772413200.101'") == [
        (datetime(2026, 3, 2, 1, 0),)
    ]


def test_truncated_queue_log_is_rejected_and_changes_nothing(warehouse, fixture_copy):
    day1, day2 = fixture_copy(DAY1, DAY2)
    ingest_paths(warehouse, [day1], KEY)
    before = snapshot(warehouse)
    data = day2.read_bytes()
    day2.write_bytes(data[:-30])
    (r,) = ingest_paths(warehouse, [day2], KEY)
    assert r.status == "rejected" and "queue_log-20260303: line 5: file is truncated" in r.message
    assert snapshot(warehouse) == before


def test_realtime_export_datetimes_and_member_names(warehouse, tmp_path):
    """A queue_log exported from the realtime database (Wazo/FreePBX style) has local datetimes
    instead of epochs, and members written as channels."""
    path = tmp_path / "queue_log-realtime"
    path.write_text(
        "2026-03-02 09:00:00.896208|1772413200.9|sales|NONE|ENTERQUEUE||13800138000|1\n"
        "2026-03-02 09:00:05.1|1772413200.9|sales|Local/1007@from-queue/n|CONNECT|5|1772413205.10|2\n"
        "2026-03-02 09:03:05|1772413200.9|sales|Local/1007@from-queue/n|COMPLETEAGENT|5|180|1\n"
    )
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert (r.rows_loaded, r.rows_quarantined) == (3, 0)
    assert query(warehouse, "select queue_entry_ts, agent_id, wait_s, talk_s from raw.contact_segments") == [
        (datetime(2026, 3, 2, 1, 0, 0, 896208), "1007", 5.0, 180.0)
    ]
