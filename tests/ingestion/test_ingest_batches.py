"""Canonical files of one kind load as one batch, with the same raw rows and per-file accounting as
loading them one at a time; anything only the per-file path decides falls back to it."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
from ingest_helpers import KEY, assert_accounting, query

from ingestion import ingest_paths
from ingestion.readers import canonical

HEADER = (
    "contact_id,segment_seq,channel,direction,queue_code,caller_number,queue_entry_ts,answer_ts,"
    "end_ts,agent_id,wait_s,talk_s,hold_s,acw_s,outcome,transfer_type,transfer_to_queue,disposition,"
    "complaint,resolved"
)


def _segment(
    cid: str, day: int, outcome: str = "answered", wait: str = "5", number: str = "13800138000"
) -> str:
    ts = f"2026-03-{day:02d}T02:00:00Z"
    return f"{cid},1,voice,inbound,sales,{number},{ts},{ts},{ts},A1001,{wait},60,0,10,{outcome},,,,,"


def _files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    day1 = folder / "contact_segments_2026-03-01.csv"
    day1.write_text(
        "\n".join(
            [
                HEADER,
                _segment("k-1", 1),
                _segment("k-2", 1, wait="-3"),  # quarantined: negative duration
                _segment("k-3", 1, outcome="hungup"),  # quarantined: unknown outcome
                _segment("k-1", 1, wait="7"),  # duplicate within the file: the first row wins
                _segment("k-4", 1, number="1.38E+10"),  # quarantined: excel-mangled number
            ]
        )
        + "\n"
    )
    states = folder / "agent_states_2026-03-01.csv"
    states.write_text(
        "source_system,agent_id,state,reason,start_ts,end_ts\n"
        "canonical,A1001,available,,2026-03-01T01:00:00Z,2026-03-01T02:00:00Z\n"
    )
    day2 = folder / "contact_segments_2026-03-02.csv"
    day2.write_text("\n".join([HEADER, _segment("k-1", 2), _segment("k-5", 2), _segment("k-6", 2)]) + "\n")
    # Day 3 as Parquet (line numbers from the row number): k-5 again is a duplicate of day 2.
    day3 = folder / "contact_segments_2026-03-03.parquet"
    con = duckdb.connect()
    con.execute(
        f"""copy (select * from read_csv('{day2}', all_varchar=true) where contact_id = 'k-5'
                  union all select 'k-7', '1', 'chat', 'inbound', 'sales', '', '2026-03-03T01:00:00Z',
                  null, '2026-03-03T01:05:00Z', null, '300', null, null, null, 'abandoned', null, null,
                  null, null, null) to '{day3}' (format parquet)"""
    )
    con.close()
    return [states, day1, day2, day3]


def _raw(warehouse: Path) -> dict[str, list]:
    return {
        t: query(warehouse, f"select * exclude ({ts}) from raw.{t} order by all")
        for t, ts in [
            ("contact_segments", "loaded_at"),
            ("agent_states", "loaded_at"),
            ("quarantine", "quarantined_at"),
        ]
    }


def test_batch_loads_the_same_rows_and_accounting_as_one_file_at_a_time(tmp_path):
    files = _files(tmp_path / "landing")
    batched = tmp_path / "batched.duckdb"
    results = ingest_paths(batched, files, KEY, relative_to=tmp_path)
    assert_accounting(results)
    one_by_one = tmp_path / "one_by_one.duckdb"
    singles = [r for f in files for r in ingest_paths(one_by_one, [f], KEY, relative_to=tmp_path)]
    assert _raw(batched) == _raw(one_by_one)
    counts = [(r.status, r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) for r in results]
    assert counts == [
        (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) for r in singles
    ]
    # worked by hand: day 1 has 5 rows, 3 quarantined, 1 in-file duplicate; day 2 repeats k-1;
    # day 3 (Parquet) repeats k-5 of day 2.
    assert counts == [
        ("loaded", 1, 1, 0, 0),
        ("loaded", 5, 1, 3, 1),
        ("loaded", 3, 2, 0, 1),
        ("loaded", 2, 1, 0, 1),
    ]
    # The three segment files went through one batch, each with its own manifest line.
    messages = dict(query(batched, "select file_path, message from raw.file_manifest"))
    assert messages["landing/contact_segments_2026-03-02.csv"] == "loaded in a batch of 3 files"
    assert query(batched, "select source_file, source_line from raw.contact_segments order by 1, 2") == [
        ("landing/contact_segments_2026-03-01.csv", 2),
        ("landing/contact_segments_2026-03-02.csv", 3),
        ("landing/contact_segments_2026-03-02.csv", 4),
        ("landing/contact_segments_2026-03-03.parquet", 2),
    ]
    assert query(batched, "select source_file, source_line, reason from raw.quarantine order by 2") == [
        ("landing/contact_segments_2026-03-01.csv", 3, "negative duration wait_s"),
        ("landing/contact_segments_2026-03-01.csv", 4, "unknown outcome hungup"),
        ("landing/contact_segments_2026-03-01.csv", 6, "excel-mangled caller number"),
    ]
    manifest_seconds = query(batched, "select min(epoch(finished_at - started_at)) from raw.file_manifest")
    assert manifest_seconds[0][0] >= 0


def test_a_truncated_file_in_a_batch_is_rejected_alone(tmp_path):
    files = _files(tmp_path / "landing")
    _, day1, day2, day3 = files
    later = []
    for day, cid in [(4, "k-8"), (5, "k-9")]:
        f = tmp_path / "landing" / f"contact_segments_2026-03-{day:02d}.csv"
        f.write_text(f"{HEADER}\n{_segment(cid, day)}\n")
        later.append(f)
    cut = day2.read_bytes()
    day2.write_bytes(cut[: len(cut) - 20])  # last line cut off, no final newline
    warehouse = tmp_path / "w.duckdb"
    results = ingest_paths(warehouse, [day1, day2, day3, *later], KEY, relative_to=tmp_path)
    assert [r.status for r in results] == ["loaded", "rejected", "loaded", "loaded", "loaded"]
    assert "truncated" in results[1].message
    assert not query(
        warehouse, "select * from raw.contact_segments where source_file like '%03-02%'"
    )  # nothing of the rejected file, and the others as if it had not been there
    assert query(warehouse, "select contact_id from raw.contact_segments order by 1") == [
        ("k-1",),
        ("k-5",),
        ("k-7",),
        ("k-8",),
        ("k-9",),
    ]
    # The batch was halved around the bad file: the second half still loaded as one batch.
    assert [r.message for r in results[2:]] == ["loaded in a batch of 3 files"] * 3


def test_a_batch_gives_each_csv_row_its_own_line_number(tmp_path, monkeypatch):
    """A big batch (31 CSVs, ~95k rows) still numbers each row by its line in its own file. One
    read_csv over all the files put some files' last rows after other files' rows, and line
    numbers were offsets in that order (10 rows of this batch got lines past their file's end).
    The cause was a join in the validating projection (an IN list planned as a mark join); with
    it gone the batch is validated in one scan, not rescanned file by file."""
    scans = []
    state_sql = canonical._state_sql
    monkeypatch.setattr(canonical, "_state_sql", lambda *a: scans.append(a[0]) or state_sql(*a))
    folder = tmp_path / "in"
    folder.mkdir()
    texts = {}
    sizes = random.Random(1)
    for day in range(1, 32):
        rows = 2000 + sizes.randrange(2000)
        lines = ["source_system,agent_id,state,reason,start_ts,end_ts"] + [
            f"canonical,A{i % 90:04d},available,,2026-01-{day:02d}T{i // 5400 % 24:02d}:{i // 90 % 60:02d}:00Z,"
            for i in range(rows)
        ]
        path = folder / f"agent_states_2026-01-{day:02d}.csv"
        path.write_text("\n".join(lines) + "\n")
        texts[f"in/{path.name}"] = lines
    warehouse = tmp_path / "warehouse.duckdb"
    results = ingest_paths(warehouse, [folder], KEY, relative_to=tmp_path)
    assert {r.message for r in results} == {"loaded in a batch of 31 files"}
    assert_accounting(results)
    rows = query(
        warehouse,
        "select source_file, source_line, agent_id, strftime(start_ts, '%Y-%m-%dT%H:%M') from raw.agent_states",
    )
    assert len(rows) == sum(len(t) - 1 for t in texts.values())
    misplaced = [
        (f, line)
        for f, line, agent, start in rows
        if not (
            2 <= line <= len(texts[f])
            and texts[f][line - 1].startswith(f"canonical,{agent},available,,{start}")
        )
    ]
    assert misplaced == []
    assert len(scans) == 1 and all(f"agent_states_2026-01-{d:02d}.csv" in scans[0] for d in range(1, 32))


def test_the_validation_plans_pass_rows_through_in_scan_order(tmp_path):
    """keeps_scan_order guards the line numbers of a multi-file scan: both readers' validation
    plans are scans and projections only; the same check written as an IN list is a join."""
    for name, text in [
        ("a.csv", f"source_system,{HEADER}\ncanonical,{_segment('k-1', 1)}\n"),
        ("b.csv", "source_system,agent_id,state,reason,start_ts,end_ts\n"),
    ]:
        (tmp_path / name).write_text(text)
    con = duckdb.connect()
    files = f"['{tmp_path / 'a.csv'}', '{tmp_path / 'a.csv'}']"
    scan = f"select *, filename as _path, null::bigint as _line from read_csv({files}, all_varchar=true, filename=true)"
    segments = canonical._segment_sql(scan, ", _path, _line", "UTC")
    assert canonical.keeps_scan_order(con, segments)
    states_scan = scan.replace("a.csv", "b.csv")
    assert canonical.keeps_scan_order(
        con, canonical._state_sql(states_scan, ", _path, _line", "Asia/Shanghai")
    )
    as_in_list = segments.replace(
        canonical._in("p_outcome", canonical.OUTCOMES), f"p_outcome in {canonical.OUTCOMES}"
    )
    assert as_in_list != segments and not canonical.keeps_scan_order(con, as_in_list)
