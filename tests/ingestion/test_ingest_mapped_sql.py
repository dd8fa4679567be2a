"""Surveys and schedules converted by DuckDB (readers/mapped_sql.py): the raw rows, quarantine
reasons, line numbers and manifest counts are those the row-by-row rules give (written out by
hand below for a dirty sample with every reason these sources have), loaded as one batch or file
by file, and a second run loads nothing."""

from __future__ import annotations

import shutil
import sys
from datetime import date, datetime, time

import duckdb
import openpyxl
import pytest
from ingest_helpers import FIXTURES, KEY, assert_accounting, query

from ingestion import ingest_paths
from ingestion.readers import mapped_sql
from ingestion.util import to_utc_naive

DIRTY = ["csat_2026-03-16_dirty.csv", "csat_2026-03-23_dirty.csv", "schedule_2026-03_sha_dirty.csv"]


def _london_xlsx(path) -> None:
    """A London sheet across both DST changes, with typed cells (Excel dates, times, a number)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["工号", "日期", "班次", "开始时间", "结束时间", "活动"])
    ws.append(["A5", datetime(2026, 10, 25), "D1", time(1, 30), "09:00", "上班"])  # 01:30 twice: the first
    ws.append(["A5", "2026-03-29", "D1", "01:30", "02:30", "小休"])  # 01:30 does not exist
    ws.append(
        ["A6", datetime(2026, 10, 25), "D1", datetime(2026, 10, 25, 8), datetime(2026, 10, 25, 17), "上班"]
    )
    ws.append(["A6", "2026-10-25", 1.0, "10:00", "11:00", "会议"])  # a number as shift code: '1'
    wb.save(path)


def _landing(tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    files = []
    for name in DIRTY:
        shutil.copy(FIXTURES / "mapped" / name, folder / name)
        files.append(folder / name)
    _london_xlsx(folder / "schedule_2026-10_lon.xlsx")
    return [*files, folder / "schedule_2026-10_lon.xlsx"]


SURVEY_FILE = "landing/csat_2026-03-16_dirty.csv"
MULTILINE_FILE = "landing/csat_2026-03-23_dirty.csv"
SHA_FILE = "landing/schedule_2026-03_sha_dirty.csv"
LON_FILE = "landing/schedule_2026-10_lon.xlsx"

# (source, file, line, reason, masked record), by hand from the fixtures and mapped.py's rules.
EXPECTED_QUARANTINE = [
    ("customer_surveys", SURVEY_FILE, 4, "missing contact_id", ",2026-03-16 10:00:00,4,8,是,,"),
    ("customer_surveys", SURVEY_FILE, 5, "bad timestamp responded_at", "c-3,yesterday,4,8,是,,"),
    ("customer_surveys", SURVEY_FILE, 6, "csat out of range 1-5", "c-4,2026-03-16 10:00:00,9,8,是,,"),
    ("customer_surveys", SURVEY_FILE, 7, "nps out of range 0-10", "c-5,2026-03-16 10:00:00,4,11,是,,"),
    ("customer_surveys", SURVEY_FILE, 8, "bad number csat", "c-6,2026-03-16 10:00:00,abc,8,是,,"),
    ("customer_surveys", SURVEY_FILE, 9, "unmapped value resolved=不知道", "c-7,2026-03-16 10:00:00,4,8,不知道,,"),
    ("customer_surveys", SURVEY_FILE, 10, "time of day without a date", "c-8,09:30,4,8,是,,"),
    ("customer_surveys", SURVEY_FILE, 14, "bad timestamp responded_at", "c-12,2026-02-30 10:00:00,4,8,是,,"),
    ("customer_surveys", SURVEY_FILE, 17, "unmapped value resolved=TRUE", "c-14,2026-03-16 10:00:00,4,8,TRUE,,"),
    ("customer_surveys", MULTILINE_FILE, 4, "malformed line: 5 fields, header has 6", "c-21,2026-03-23 09:00:00,5,10,是"),
    ("schedules", SHA_FILE, 4, "negative duration (end before start)", "A1,2026-03-02,D1,2026-03-02 09:00,2026-03-02 08:00,小休"),
    ("schedules", SHA_FILE, 5, "missing agent_id", ",2026-03-02,D1,09:00,18:00,上班"),
    ("schedules", SHA_FILE, 6, "missing start_ts, end_ts", "A2,2026-03-02,D1,,,上班"),
    ("schedules", SHA_FILE, 7, "bad date schedule_date", "A2,2026-13-02,D1,09:00,18:00,上班"),
    ("schedules", SHA_FILE, 8, "bad timestamp start_ts", "A2,2026-03-02,D1,9点,18:00,上班"),
    ("schedules", SHA_FILE, 9, "unmapped value activity=加班", "A2,2026-03-02,D1,09:00,18:00,加班"),
]  # fmt: skip

# Shanghai is UTC+8; London GMT until 2026-03-29 01:00 UTC, BST (+1) until 2026-10-25 01:00 UTC.
EXPECTED_SURVEYS = [
    ("c-1", datetime(2026, 3, 16, 1, 0), 5, 10, True, "请回电<masked>", SURVEY_FILE, 2),
    ("c-2", datetime(2026, 3, 16, 1, 5), 4, 8, False, None, SURVEY_FILE, 3),  # no seconds
    ("c-10", datetime(2026, 3, 16, 3, 0), 4, 7, True, "很好", SURVEY_FILE, 11),  # padded, slashes, 4.0
    ("c-11", datetime(2026, 3, 16, 3, 30), 3, 6, True, "电话<masked>", SURVEY_FILE, 12),  # full-width digits
    ("c-13", datetime(2026, 3, 16, 2, 0), None, None, None, None, SURVEY_FILE, 15),
    (
        "c-20",
        datetime(2026, 3, 23, 1, 0),
        5,
        10,
        True,
        "多行\n意见",
        MULTILINE_FILE,
        3,
    ),  # record ends on line 3
]
EXPECTED_SCHEDULES = [
    ("A1", date(2026, 3, 2), "D1", datetime(2026, 3, 2, 1), datetime(2026, 3, 2, 10), "work", SHA_FILE, 2),
    ("A1", date(2026, 3, 2), "N1", datetime(2026, 3, 2, 14), datetime(2026, 3, 2, 22), "work", SHA_FILE, 3),
    ("A2", date(2026, 3, 2), "D1", datetime(2026, 3, 2, 1), datetime(2026, 3, 2, 10), "training", SHA_FILE, 10),
    ("A3", date(2026, 3, 2), "D1", datetime(2026, 3, 2, 1), datetime(2026, 3, 2, 10), "work", SHA_FILE, 12),
    # 01:30 on the fall-back day is read as its first occurrence (BST), as zoneinfo's fold=0 does
    ("A5", date(2026, 10, 25), "D1", datetime(2026, 10, 25, 0, 30), datetime(2026, 10, 25, 9), "work", LON_FILE, 2),
    # 01:30 in the spring gap takes the offset before it (GMT); 02:30 is BST = the same instant,
    # so the bare end time is the next day's
    ("A5", date(2026, 3, 29), "D1", datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 30, 1, 30), "break", LON_FILE, 3),
    ("A6", date(2026, 10, 25), "D1", datetime(2026, 10, 25, 8), datetime(2026, 10, 25, 17), "work", LON_FILE, 4),
    ("A6", date(2026, 10, 25), "1", datetime(2026, 10, 25, 10), datetime(2026, 10, 25, 11), "meeting", LON_FILE, 5),
]  # fmt: skip
# file -> (rows read, loaded, quarantined, duplicate); a blank record (line 16) is not a row.
EXPECTED_COUNTS = {
    SURVEY_FILE: (15, 5, 9, 1),
    MULTILINE_FILE: (3, 1, 1, 1),  # c-2 was loaded by the file before
    SHA_FILE: (11, 4, 6, 1),
    LON_FILE: (4, 4, 0, 0),
}


def _assert_expected(warehouse) -> None:
    assert (
        query(
            warehouse,
            "select source, source_file, source_line, reason, raw_record from raw.quarantine order by 2, 3",
        )
        == EXPECTED_QUARANTINE
    )
    assert (
        query(
            warehouse,
            "select * exclude (loaded_at) from raw.customer_surveys order by source_file, source_line",
        )
        == EXPECTED_SURVEYS
    )
    assert (
        query(warehouse, "select * exclude (loaded_at) from raw.schedules order by source_file, source_line")
        == EXPECTED_SCHEDULES
    )
    manifest = query(
        warehouse,
        """select file_path, source, format, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate
           from raw.file_manifest order by 1""",
    )
    assert manifest == sorted(
        (f, "schedules" if "schedule" in f else "customer_surveys", "mapped", "loaded", *n)
        for f, n in EXPECTED_COUNTS.items()
    )


@pytest.mark.parametrize("one_by_one", [False, True], ids=["batch", "file_by_file"])
def test_dirty_sample_rows_reasons_lines_and_counts(warehouse, tmp_path, one_by_one):
    """Every quarantine reason of surveys and schedules, rows DuckDB leaves to Python (padded
    values, slashed dates, 4.0, a full-width phone number, typed .xlsx cells, both DST changes),
    a GB18030 file, and a file only Python reads (a quoted multi-line comment, a malformed line)."""
    files = _landing(tmp_path)
    if one_by_one:
        results = [r for f in files for r in ingest_paths(warehouse, [f], KEY, relative_to=tmp_path)]
    else:
        results = ingest_paths(warehouse, files, KEY, relative_to=tmp_path)
    assert_accounting(results)
    assert [r.status for r in results] == ["loaded"] * 4
    _assert_expected(warehouse)
    # Re-running loads nothing and changes nothing.
    again = ingest_paths(warehouse, files, KEY, relative_to=tmp_path)
    assert [r.status for r in again] == ["already_loaded"] * 4
    _assert_expected(warehouse)


def test_batch_loads_surveys_and_schedules_in_one_pass(warehouse, tmp_path):
    """Consecutive exports of one raw table share a batch whatever their mapping or file type
    (the London .xlsx and the Shanghai GB18030 CSV); the manifest says so."""
    files = _landing(tmp_path)
    results = ingest_paths(warehouse, files[2:], KEY, relative_to=tmp_path)
    assert [r.message for r in results] == [
        "mapping schedules_sha_zh.yaml; loaded in a batch of 2 files",
        "mapping schedules_lon_zh.yaml; loaded in a batch of 2 files",
    ]


def test_blank_line_sends_the_file_to_the_row_path(warehouse, tmp_path):
    """A blank line is not a record and shifts the line numbers after it: DuckDB's read is not
    trusted for that file, Python reads it (lines as the file has them)."""
    path = tmp_path / "csat_2026-04-06.csv"
    path.write_text(
        "通话ID,回访时间,满意度评分\nc-1,2026-04-06 09:00:00,5\n\nc-2,2026-04-06 09:00:00,7\n",
        encoding="utf-8",
    )
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (2, 1, 1)
    assert query(warehouse, "select source_line, reason from raw.quarantine") == [
        (4, "csat out of range 1-5")
    ]


def test_python_whitespace_class_is_str_isspace():
    """Values with these characters at an edge are left to Python's strip()."""
    assert set(mapped_sql.PY_SPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}


@pytest.mark.parametrize("tz", ["Europe/London", "Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"])
def test_local_to_utc_in_sql_is_zoneinfos(tz):
    """DuckDB's conversion (offset_steps) equals util.to_utc_naive minute by minute around both
    of 2026's offset changes (gap and fold) and at 47,000 instants spread over 1990-2059."""
    days = [datetime(2026, mo, d) for mo, d in ((3, 8), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1))]
    minutes = [day.replace(hour=h, minute=m) for day in days for h in range(4) for m in range(0, 60, 5)]
    span = datetime(2059, 12, 31) - datetime(1990, 1, 1)
    spread = [datetime(1990, 1, 1) + span / 47000 * k for k in range(47000)]
    values = [x.replace(microsecond=0) for x in minutes + spread]
    con = duckdb.connect()
    con.execute("create table t as select unnest(?::timestamp[]) as l", [values])
    got = con.execute(f"select l, {mapped_sql._utc('l', tz, mapped_sql.TZ_YEARS)} from t").fetchall()
    assert [(loc, u) for loc, u in got if u != to_utc_naive(loc, tz)] == []


def test_sheet_rows_held_for_a_batch_are_capped(warehouse, tmp_path, monkeypatch):
    """A sheet that would take the rows a batch holds in memory past the cap loads on its own;
    the rows are the same."""
    from ingestion import loader

    monkeypatch.setattr(loader, "BATCH_MAX_SHEET_ROWS", 3)
    files = _landing(tmp_path)
    results = ingest_paths(warehouse, files, KEY, relative_to=tmp_path)
    assert [r.message for r in results[2:]] == [
        "mapping schedules_sha_zh.yaml",
        "mapping schedules_lon_zh.yaml",
    ]
    _assert_expected(warehouse)


def test_csv_quoting_reads_as_pythons_csv_module(warehouse, tmp_path):
    """Quotes and padding DuckDB's reader could take differently: values as csv.reader gives them
    (then stripped by the rules). A quote next to a space (DuckDB trims ` "b"` to `b`) sends the
    whole file to the row path."""
    header = "通话ID,回访时间,满意度评分,推荐意愿,问题是否解决,意见建议\n"
    spaced = tmp_path / "csat_2026-04-13.csv"
    spaced.write_text(header + 'q-1,2026-04-13 09:00:00,4,5,是, "好"\n', encoding="utf-8")
    quoted = tmp_path / "csat_2026-04-20.csv"
    quoted.write_text(
        header
        + 'q-2,2026-04-20 09:00:00,4,5,是,"x"y\n'
        + 'q-3,2026-04-20 09:00:00,4,5,是,"x""y, z"\n'
        + "q-4,2026-04-20 09:00:00 ,4, 5,是 ,x \r\n",
        encoding="utf-8",
    )
    extra = tmp_path / "csat_2026-04-27.csv"  # DuckDB reads the trailing empty field as no field
    extra.write_text(header + "q-5,2026-04-27 09:00:00,4,5,是,x,\n", encoding="utf-8")
    results = ingest_paths(warehouse, [spaced, quoted, extra], KEY)
    assert_accounting(results)
    assert query(warehouse, "select source_line, reason from raw.quarantine") == [
        (2, "malformed line: 7 fields, header has 6")
    ]
    assert query(
        warehouse,
        "select contact_id, nps, resolved, comment, source_line from raw.customer_surveys order by 1",
    ) == [
        ("q-1", 5, True, '"好"', 2),
        ("q-2", 5, True, "xy", 2),
        ("q-3", 5, True, 'x"y, z', 3),
        ("q-4", 5, True, "x", 4),
    ]
