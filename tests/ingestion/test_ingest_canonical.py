"""Canonical CSV/Parquet: validation, quarantine, UTC, pseudonymisation, manifest, dedupe, rejects."""

from __future__ import annotations

from datetime import datetime

import duckdb
from ingest_helpers import KEY, assert_accounting, caller_key, query, snapshot

from ingestion import ensure_raw_schema, ingest_paths

SEGMENTS = "canonical/contact_segments_2026-03-02.csv"


def test_ensure_raw_schema_creates_every_contract_table_empty(warehouse):
    ensure_raw_schema(warehouse)
    ensure_raw_schema(warehouse)  # idempotent
    tables = {
        t
        for (t,) in query(
            warehouse, "select table_name from information_schema.tables where table_schema='raw'"
        )
    }
    contract = {
        "contact_segments", "agent_states", "roster", "schedules", "customer_surveys", "stress_responses",
        "stress_answers", "survey_waves", "file_manifest", "quarantine",
    }  # fmt: skip
    assert contract <= tables
    assert all(query(warehouse, f"select count(*) from raw.{t}")[0][0] == 0 for t in contract)
    cols = [
        c
        for (c,) in query(
            warehouse,
            "select column_name from information_schema.columns where table_schema='raw' and table_name='stress_answers' order by ordinal_position",
        )
    ]
    assert cols == ["response_id", "item_code", "answer", "source_file", "source_line", "loaded_at"]


def test_canonical_csv_validates_quarantines_and_pseudonymises(warehouse, fixture_copy):
    (path,) = fixture_copy(SEGMENTS)
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert_accounting([r])
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) == (
        "loaded",
        8,
        4,
        4,
        0,
    )
    reasons = dict(query(warehouse, "select source_line, reason from raw.quarantine"))
    assert reasons == {
        5: "excel-mangled caller number",
        6: "negative duration wait_s",
        7: "unknown outcome hungup",
        8: "bad timestamp queue_entry_ts",
    }
    # no readable number anywhere in quarantine
    assert not query(warehouse, "select * from raw.quarantine where regexp_matches(raw_record, '\\d{7,}')")
    rows = dict(
        query(warehouse, "select contact_id || '/' || segment_seq, caller_key from raw.contact_segments")
    )
    assert rows["k-001/1"] == caller_key("+8613800138000")  # 13800138000, default region CN
    assert rows["k-007/1"] == caller_key("+8613800138000")
    assert rows["k-002/1"] is None  # withheld / empty caller: a valid contact, no key
    # +08:00 offset normalised to UTC
    (ts,) = query(warehouse, "select queue_entry_ts from raw.contact_segments where contact_id = 'k-007'")[0]
    assert ts == datetime(2026, 3, 2, 2, 6)
    (line, src) = query(
        warehouse, "select source_line, source_file from raw.contact_segments where contact_id='k-007'"
    )[0]
    assert line == 9 and src.endswith("contact_segments_2026-03-02.csv")


def test_same_file_twice_loads_nothing_and_reexport_counts_duplicates(warehouse, fixture_copy):
    first, reexport = fixture_copy(SEGMENTS, "canonical/contact_segments_2026-03-02_reexport.csv")
    ingest_paths(warehouse, [first], KEY)
    before = snapshot(warehouse)
    (again,) = ingest_paths(warehouse, [first], KEY)
    assert again.status == "already_loaded" and again.rows_loaded == 0
    assert snapshot(warehouse) == before
    (r,) = ingest_paths(warehouse, [reexport], KEY)
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate) == (2, 1, 1)  # k-007 again, k-008 new
    assert query(warehouse, "select count(*) from raw.contact_segments where contact_id='k-007'")[0][0] == 1
    manifest = query(
        warehouse, "select rows_read, rows_loaded + rows_quarantined + rows_duplicate from raw.file_manifest"
    )
    assert len(manifest) == 2 and all(a == b for a, b in manifest)


def test_parquet_loads_like_csv(warehouse, fixture_copy, tmp_path):
    (csv_path,) = fixture_copy(SEGMENTS)
    pq = tmp_path / "contact_segments_2026-03-02.parquet"
    con = duckdb.connect()
    con.execute(f"copy (select * from read_csv('{csv_path}', all_varchar=true)) to '{pq}' (format parquet)")
    con.close()
    (r,) = ingest_paths(warehouse, [pq], KEY)
    assert (r.format, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("canonical", 8, 4, 4)
    assert query(warehouse, "select min(source_line), max(source_line) from raw.quarantine")[0] == (4, 7)


def test_truncated_file_is_rejected_whole_and_warehouse_unchanged(warehouse, fixture_copy):
    good, damaged = fixture_copy(SEGMENTS, "canonical/contact_segments_2026-03-02_reexport.csv")
    ingest_paths(warehouse, [good], KEY)
    before = snapshot(warehouse)
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) - 40])  # cut mid-line
    (r,) = ingest_paths(warehouse, [damaged], KEY)
    assert r.status == "rejected"
    assert "contact_segments_2026-03-02_reexport.csv: line 3:" in r.message and "truncated" in r.message
    assert "\n" not in r.message
    assert snapshot(warehouse) == before
    rejected = query(
        warehouse, "select file_path, rows_read, message from raw.file_manifest where status = 'rejected'"
    )
    assert len(rejected) == 1 and rejected[0][1] == 0 and rejected[0][2] == r.message
    ingest_paths(warehouse, [damaged], KEY)  # retried: still rejected, recorded once
    assert query(warehouse, "select count(*) from raw.file_manifest where status = 'rejected'") == [(1,)]


def test_wrong_encoding_is_rejected(warehouse, tmp_path):
    path = tmp_path / "contact_segments_gbk.csv"
    header = (
        "contact_id,segment_seq,channel,direction,queue_code,caller_number,queue_entry_ts,end_ts,outcome\n"
    )
    body = "k1,1,voice,inbound,售前,,2026-03-02T01:00:00Z,2026-03-02T01:01:00Z,abandoned\n"
    path.write_bytes((header + body).encode("gb18030"))
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert r.status == "rejected" and "line 2" in r.message and "UTF-8" in r.message
    assert query(warehouse, "select count(*) from raw.contact_segments")[0][0] == 0


def test_malformed_middle_line_is_quarantined_not_fatal(warehouse, tmp_path):
    path = tmp_path / "contact_segments_x.csv"
    path.write_text(
        "contact_id,segment_seq,channel,direction,queue_entry_ts,outcome\n"
        "k1,1,voice,inbound,2026-03-02T01:00:00Z,abandoned\n"
        "k2,1,voice\n"
        "k3,1,voice,inbound,2026-03-02T01:02:00Z,answered\n"
    )
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (3, 2, 1)
    assert query(warehouse, "select source_line, reason like 'malformed line%' from raw.quarantine") == [
        (3, True)
    ]
    assert dict(query(warehouse, "select contact_id, source_line from raw.contact_segments")) == {
        "k1": 2,
        "k3": 4,
    }


def test_agent_states_canonical(warehouse, fixture_copy):
    (path,) = fixture_copy("canonical/agent_states_2026-03-02.csv")
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert (r.source, r.rows_loaded, r.rows_quarantined) == ("agent_states", 4, 2)
    assert sorted(x for (x,) in query(warehouse, "select reason from raw.quarantine")) == [
        "negative duration (end_ts before start_ts)",
        "unknown state sleeping",
    ]
