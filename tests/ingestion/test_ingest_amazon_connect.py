"""Amazon Connect CTRs: latest LastUpdateTimestamp wins, transfers linked, durations mapped."""

from __future__ import annotations

from datetime import datetime

from ingest_helpers import KEY, assert_accounting, caller_key, query, snapshot

from ingestion import ingest_paths

MAIN = "amazon_connect/ctr-2026-03-02.jsonl"
REDELIVERY = "amazon_connect/ctr-2026-03-02-redelivery.json"
SQL = """select contact_id, segment_seq, direction, queue_code, outcome, wait_s, talk_s, hold_s, acw_s, agent_id,
                transfer_to_queue, disposition, complaint, resolved
         from raw.contact_segments where source_system = 'amazon_connect' order by 1, 2"""


def test_ctr_segments_transfers_and_durations(warehouse, fixture_copy):
    (path,) = fixture_copy(MAIN)
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert_accounting([r])
    # A, B, C, D(new), E loaded; D's older copy is a duplicate; broken JSON, 1.38E+10, TELEPATHY quarantined
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) == (9, 5, 3, 1)
    assert query(warehouse, SQL) == [
        ("c-a", 1, "inbound", "sales", "transferred_out", 15.0, 120.0, 10.0, 30.0, "agent.wang", "support", "billing", None, None),
        ("c-a", 2, "transfer", "support", "answered", 30.0, 280.0, 0.0, 45.0, "agent.li", None, None, False, True),
        ("c-c", 1, "inbound", "sales", "abandoned", 60.0, None, None, None, None, None, None, None, None),
        ("c-d", 1, "inbound", "sales", "answered", 5.0, 292.0, 0.0, 90.0, "agent.wang", None, None, None, None),
        ("c-e", 1, "inbound", None, "ivr_only", None, None, None, None, None, None, None, None, None),
    ]  # fmt: skip
    keys = dict(
        query(warehouse, "select contact_id, caller_key from raw.contact_segments where segment_seq = 1")
    )
    assert keys["c-c"] == caller_key("+8613900139000") and keys["c-d"] is None
    assert keys["c-e"] == caller_key("+442079460000")
    assert query(
        warehouse, "select queue_entry_ts from raw.contact_segments where contact_id='c-a' and segment_seq=1"
    ) == [(datetime(2026, 3, 2, 1, 0, 5),)]
    reasons = dict(query(warehouse, "select source_line, reason from raw.quarantine"))
    assert reasons[8] == "excel-mangled caller number" and reasons[9] == "unknown InitiationMethod TELEPATHY"
    assert reasons[4].startswith("malformed JSON") and len(reasons) == 3


def test_redelivery_keeps_latest_version_only(warehouse, fixture_copy):
    main, redelivery = fixture_copy(MAIN, REDELIVERY)
    ingest_paths(warehouse, [main], KEY)
    (r,) = ingest_paths(warehouse, [redelivery], KEY)  # concatenated objects, no newline
    assert_accounting([r])
    # D older than stored: duplicate; C newer: replaces the stored version
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate) == (2, 1, 1)
    assert query(
        warehouse, "select count(*), any_value(complaint) from raw.contact_segments where contact_id = 'c-c'"
    ) == [(1, True)]
    assert query(warehouse, "select acw_s from raw.contact_segments where contact_id = 'c-d'") == [(90.0,)]
    # reverse arrival order ends in the same state
    other = warehouse.parent / "other.duckdb"
    ingest_paths(other, [redelivery], KEY)
    ingest_paths(other, [main], KEY)
    assert query(other, SQL) == query(warehouse, SQL)


def test_transfer_leg_arriving_first_still_links(warehouse, tmp_path, fixture_copy):
    (path,) = fixture_copy(MAIN)
    lines = path.read_text().splitlines(keepends=True)
    first, second = tmp_path / "b_first.jsonl", tmp_path / "a_later.jsonl"
    first.write_text(lines[1])  # leg B (InitialContactId c-a) alone
    second.write_text(lines[0])
    ingest_paths(warehouse, [first], KEY)
    ingest_paths(warehouse, [second], KEY)
    assert query(
        warehouse, "select segment_seq, queue_code, outcome from raw.contact_segments order by 1"
    ) == [
        (1, "sales", "transferred_out"),
        (2, "support", "answered"),
    ]


def test_truncated_ctr_file_is_rejected(warehouse, fixture_copy):
    (path,) = fixture_copy(MAIN)
    before = snapshot(warehouse) if warehouse.exists() else None
    data = path.read_bytes()
    path.write_bytes(data[:-200])
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert r.status == "rejected" and "ctr-2026-03-02.jsonl: line 9: file is truncated" in r.message
    assert before is None and query(warehouse, "select count(*) from raw.contact_segments") == [(0,)]
