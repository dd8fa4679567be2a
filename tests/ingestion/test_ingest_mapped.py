"""Mapped exports: CSV/.xlsx, UTF-8/BOM/GB18030, Chinese headers, value maps, long stress answers."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
from ingest_helpers import KEY, assert_accounting, query, snapshot

from ingestion import ingest_paths


def test_gb18030_roster_with_value_maps(warehouse, fixture_copy):
    (path,) = fixture_copy("mapped/roster_2026-03-01.csv")
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert_accounting([r])
    assert (r.source, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("roster", 5, 4, 1)
    rows = query(
        warehouse,
        "select agent_id, agent_name, site_code, skills, employment_type, hire_date, end_date, as_of_date from raw.roster order by 1",
    )
    assert rows[0] == (
        "A1001",
        "王芳",
        "sha",
        "sales;support",
        "full_time",
        date(2023, 5, 4),
        None,
        date(2026, 3, 1),
    )
    assert rows[1][4] == "temporary" and rows[1][5] == date(2025, 11, 20)  # 2025/11/20 format
    assert rows[2][2:5] == ("lon", "sales", "temporary")  # 外包 maps to temporary
    assert rows[3][6] == date(2026, 2, 28)
    assert query(warehouse, "select source_line, reason from raw.quarantine") == [
        (5, "unmapped value site_code=北京")
    ]


def test_stress_survey_bom_pivots_items_to_long_answers(warehouse, fixture_copy):
    (path,) = fixture_copy("mapped/stress_survey_2026Q1.csv")
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (4, 3, 1)
    assert r.tables == {"stress_responses": 3, "stress_answers": 12}
    resp = query(
        warehouse,
        "select response_id, wave, submitted_at, gender, age_band, education, project_group, team, comment from raw.stress_responses order by 1",
    )
    assert resp[0] == (
        "2026Q1-1",
        "2026Q1",
        datetime(2026, 3, 10, 2, 15, 2),
        "female",
        "25-30",
        "college",
        "热线一部",
        "一组",
        "希望多一些休息",
    )
    assert resp[2][-1] == "电话<masked>联系我"  # a number typed into a comment never lands
    answers = dict(
        query(warehouse, "select item_code, answer from raw.stress_answers where response_id = '2026Q1-2'")
    )
    assert answers == {"JC1": 5, "JC2": 5, "JC3": 4, "JC4": None}  # (跳过) = skipped
    assert query(warehouse, "select reason from raw.quarantine") == [("unmapped value item:JC2=不确定",)]
    # personal columns listed under `ignore` (IP address) are not loaded anywhere
    assert not query(warehouse, "select * from raw.stress_responses where comment like '10.0.0%'")


def test_customer_surveys_and_waves(warehouse, fixture_copy):
    results = ingest_paths(
        warehouse, fixture_copy("mapped/csat_2026-03-02.csv", "mapped/survey_waves_2026Q1.csv"), KEY
    )
    assert_accounting(results)
    assert query(
        warehouse, "select contact_id, responded_at, csat, nps, resolved from raw.customer_surveys order by 1"
    ) == [
        ("c-a", datetime(2026, 3, 2, 1, 20), 5, 10, True),
        ("c-c", datetime(2026, 3, 2, 2, 30), 2, 3, False),
        ("c-d", datetime(2026, 3, 2, 3, 10), 4, None, True),
    ]
    assert sorted(r for (r,) in query(warehouse, "select reason from raw.quarantine")) == [
        "csat out of range 1-5",
        "unmapped value resolved=不知道",
    ]
    assert query(warehouse, "select wave, project_group, distributed from raw.survey_waves order by 2") == [
        ("2026Q1", "热线一部", 40),
        ("2026Q1", "热线二部", 35),
    ]


def _schedule_xlsx(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["工号", "日期", "班次", "开始时间", "结束时间", "活动"])
    ws.append(["A1001", datetime(2026, 3, 2), "D1", "08:30", "17:30", "上班"])
    ws.append(["A1001", datetime(2026, 3, 2), "D1", "12:00", "13:00", "午餐"])
    ws.append(["A1002", "2026/03/02", "N1", "22:00", "06:00", "上班"])  # overnight shift
    ws.append(["A1003", "2026-03-02", "D1", "09:00", "18:00", "摸鱼"])
    wb.save(path)


def test_xlsx_schedule_local_times_to_utc(warehouse, tmp_path):
    path = tmp_path / "schedule_2026-03_sha.xlsx"
    _schedule_xlsx(path)
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert_accounting([r])
    assert (r.source, r.rows_loaded, r.rows_quarantined) == ("schedules", 3, 1)
    rows = query(
        warehouse,
        "select agent_id, schedule_date, start_ts, end_ts, activity from raw.schedules order by 1, 3",
    )
    assert rows == [
        ("A1001", date(2026, 3, 2), datetime(2026, 3, 2, 0, 30), datetime(2026, 3, 2, 9, 30), "work"),
        ("A1001", date(2026, 3, 2), datetime(2026, 3, 2, 4, 0), datetime(2026, 3, 2, 5, 0), "lunch"),
        ("A1002", date(2026, 3, 2), datetime(2026, 3, 2, 14, 0), datetime(2026, 3, 2, 22, 0), "work"),
    ]
    assert query(warehouse, "select source_line, reason from raw.quarantine") == [
        (5, "unmapped value activity=摸鱼")
    ]


def test_truncated_xlsx_is_rejected(warehouse, tmp_path):
    path = tmp_path / "schedule_2026-03_sha.xlsx"
    _schedule_xlsx(path)
    path.write_bytes(path.read_bytes()[:1500])
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert r.status == "rejected" and "schedule_2026-03_sha.xlsx" in r.message and ".xlsx" in r.message
    assert query(warehouse, "select count(*) from raw.schedules") == [(0,)]


def test_new_layout_needs_only_a_mapping_file(warehouse, tmp_path):
    mapping = tmp_path / "hr_roster_en.yaml"
    mapping.write_text(
        """kind: roster
match: {filename: 'staff_list.*\\.csv$', headers_all: [Employee No, Full Name]}
encoding: auto
date_formats: ['%d/%m/%Y']
from_filename: {as_of_date: 'staff_list_(?P<as_of_date>\\d{4}-\\d{2}-\\d{2})'}
columns: {Employee No: agent_id, Full Name: agent_name, Team: team, Contract: employment_type, Start: hire_date}
values: {employment_type: {Permanent: full_time, Agency: temporary}}
ignore: [Home Phone]
""",
        encoding="utf-8",
    )
    export = tmp_path / "staff_list_2026-03-01.csv"
    export.write_text(
        "Employee No,Full Name,Team,Contract,Start,Home Phone,Shoe Size\n"
        "L2001,Ann Jones,London A,Permanent,04/05/2024,+447700900123,5\n"
        "L2002,Bob Hall,London A,Casual,01/02/2025,,9\n",
        encoding="utf-8",
    )
    (r,) = ingest_paths(warehouse, [export], KEY, fmt="mapped", mapping=mapping)
    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    assert "Shoe Size" in r.message  # unknown columns are reported once per file
    assert query(warehouse, "select agent_id, employment_type, hire_date, as_of_date from raw.roster") == [
        ("L2001", "full_time", date(2024, 5, 4), date(2026, 3, 1))
    ]
    assert not query(warehouse, "select * from raw.quarantine where raw_record like '%7700900123%'")


def test_file_no_mapping_recognises_is_rejected(warehouse, tmp_path):
    path = tmp_path / "whatever.csv"
    path.write_text("a,b\n1,2\n")
    before = None
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert r.status == "rejected" and "no mapping" in r.message and before is None
    assert snapshot(warehouse)["file_manifest"] == []


def test_rows_are_converted_by_column_with_the_row_path_naming_reasons(warehouse, tmp_path):
    """Clean rows take the column-wise path; any other row is decided by the row-by-row rules,
    so its reason is still the first failing field in header order, then missing fields, then
    the finishing step (a schedule ending before it starts). Repeated values share one parse."""
    path = tmp_path / "csat_2026-03-09.csv"
    path.write_text(
        "通话ID,回访时间,满意度评分,推荐意愿,问题是否解决,意见建议\n"
        "c-1,2026-03-09 09:00:00,5,10,是,请回电13800138000\n"
        "c-2,2026-03-09 09:00:00,9,11,不知道,\n"  # csat and nps and resolved bad: csat named
        "c-3,yesterday,4,12,是,\n"  # responded_at before nps
        ",2026-03-09 10:00:00,4,8,是,\n"  # missing contact_id
        "c-4,2026-03-09 09:00:00,5,10,是\n"  # malformed: 5 fields
        "c-5,2026-03-09 09:00:00,5,10,否,\n"
        "c-1,2026-03-09 11:00:00,1,0,否,\n",  # duplicate of c-1: the first row wins
        encoding="utf-8",
    )
    (r,) = ingest_paths(warehouse, [path], KEY)
    assert_accounting([r])
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) == (7, 2, 4, 1)
    assert query(warehouse, "select source_line, reason from raw.quarantine order by 1") == [
        (3, "csat out of range 1-5"),
        (4, "bad timestamp responded_at"),
        (5, "missing contact_id"),
        (6, "malformed line: 5 fields, header has 6"),
    ]
    assert query(
        warehouse,
        "select contact_id, responded_at, csat, nps, resolved, comment, source_line from raw.customer_surveys order by 1",
    ) == [
        ("c-1", datetime(2026, 3, 9, 1, 0), 5, 10, True, "请回电<masked>", 2),
        ("c-5", datetime(2026, 3, 9, 1, 0), 5, 10, False, None, 7),
    ]
    sched = tmp_path / "schedule_2026-03_sha.csv"
    sched.write_text(
        "工号,日期,班次,开始时间,结束时间,活动\n"
        "A1,2026-03-02,D1,2026-03-02 09:00,2026-03-02 08:00,上班\n"  # explicit end before start
        "A1,2026-03-02,N1,22:00,06:00,上班\n",  # bare times: ends the next day
        encoding="utf-8",
    )
    (s,) = ingest_paths(warehouse, [sched], KEY)
    assert (s.rows_loaded, s.rows_quarantined) == (1, 1)
    assert query(warehouse, "select reason from raw.quarantine where source = 'schedules'") == [
        ("negative duration (end before start)",)
    ]
    assert query(warehouse, "select start_ts, end_ts from raw.schedules") == [
        (datetime(2026, 3, 2, 14, 0), datetime(2026, 3, 2, 22, 0))
    ]
