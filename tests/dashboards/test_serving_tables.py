"""The serving-only ``marts.srv_*`` tables the dashboards read: same numbers as the marts, every filter applies.

Built on the dashboards' fixture (dash_serving_fixture.py) by the same function the publish step uses.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from dash_serving_fixture import build_serving_fixture

from callcenter.publish import PublishError, add_serving_tables

BUNDLE = Path(__file__).resolve().parents[2] / "dashboards" / "bundle"


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build_serving_fixture(tmp_path_factory.mktemp("srv") / "serving.duckdb")
    c = duckdb.connect(str(path), read_only=True)
    yield c
    c.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_contacts_daily_adds_up_to_the_center_mart_every_day(con):
    measures = (
        "complaint_num, complaint_den, transfer_num, fcr_num, fcr_den, csat_num, csat_den, nps_responses"
    )
    sums = ", ".join(f"sum({m})" for m in measures.split(", "))
    by_queue = rows(con, f"select report_date, {sums} from marts.srv_contacts_daily group by 1 order by 1")
    center = rows(con, f"select report_date, {measures} from marts.agg_center_daily order by 1")
    assert len(center) == 14 and by_queue == center
    # and per queue it is the contacts of that handling queue, counted by hand
    (presales,) = rows(
        con,
        "select count(*) filter (where is_handled and complaint) from marts.fct_contacts "
        "where coalesce(last_queue_code, first_queue_code) = 'presales'",
    )
    assert rows(
        con, "select sum(complaint_num) from marts.srv_contacts_daily where queue_code = 'presales'"
    ) == [presales]


def test_complaints_by_reason_count_each_contact_once_per_reason(tmp_path):
    path = build_serving_fixture(tmp_path / "serving.duckdb")
    c = duckdb.connect(str(path))
    try:
        # a complaint contact transferred to the other queue and site, complaining again for the same reason
        c.execute(
            "insert into marts.fct_agent_segments select * replace (2 as segment_seq, 'intl_support' as queue_code, "
            "'lon' as site_code) from marts.fct_agent_segments where complaint and queue_code = 'presales' limit 1"
        )
        c.execute("drop table marts.srv_complaints_daily")
        add_serving_tables(c)
        direct = rows(
            c,
            "select disposition, count(distinct contact_id) from marts.fct_agent_segments where complaint "
            "group by 1 order by 1",
        )
        served = rows(
            c,
            "select disposition, sum(complaint_contacts) from marts.srv_complaints_daily group by 1 order by 1",
        )
        assert served == direct and len(served) >= 2
    finally:
        c.close()


def test_staffing_per_day_is_the_days_total_over_queues_averaged(con):
    # 09:00 on the fixture: two queues x 14 days; the average day's total over queues, by hand
    (expected,) = rows(
        con,
        "select avg(total) from (select interval_start_local, sum(scheduled_agents) as total "
        "from marts.agg_staffing_interval where strftime(interval_start_local, '%H:%M') = '09:00' group by 1)",
    )
    ds = yaml.safe_load((BUNDLE / "datasets" / "serving" / "srv_staffing_interval.yaml").read_text())
    metric = next(m["expression"] for m in ds["metrics"] if m["metric_name"] == "scheduled_agents_per_day")
    (got,) = rows(con, f"select {metric} from marts.srv_staffing_interval where time_of_day = '09:00'")
    assert got[0] == pytest.approx(expected[0]) and expected[0] > 0


def test_a_definition_drift_refuses_to_publish(tmp_path):
    path = build_serving_fixture(tmp_path / "serving.duckdb")
    c = duckdb.connect(str(path))
    try:
        c.execute("drop table marts.srv_contacts_daily")
        c.execute(
            "update marts.agg_center_daily set complaint_num = complaint_num + 1 where day(report_date) = 3"
        )
        with pytest.raises(
            PublishError, match="srv_contacts_daily does not add up to agg_center_daily on 2026-10-03"
        ):
            add_serving_tables(c)
    finally:
        c.close()


def test_a_warehouse_without_the_sources_gets_no_serving_tables(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        c.execute(
            "create schema marts; create table marts.agg_center_daily as select current_date as report_date"
        )
        assert add_serving_tables(c) == {}
    finally:
        c.close()


def dataset_columns() -> dict[str, set[str]]:
    return {
        d["uuid"]: {c["column_name"] for c in d["columns"]}
        for d in (yaml.safe_load(p.read_text()) for p in (BUNDLE / "datasets").rglob("*.yaml"))
    }


@pytest.mark.parametrize("column", ["queue_code", "site_code", "report_date"])
def test_every_executive_overview_chart_follows_the_queue_site_and_date_filters(column):
    """Superset applies a native filter to each chart in scope whose dataset has the column."""
    columns = dataset_columns()
    charts = [
        yaml.safe_load(p.read_text()) for p in (BUNDLE / "charts" / "executive_overview").glob("*.yaml")
    ]
    assert len(charts) == 16
    missing = [c["slice_name"] for c in charts if column not in columns[c["dataset_uuid"]]]
    assert missing == []
    dashboard = yaml.safe_load((BUNDLE / "dashboards" / "executive_overview.yaml").read_text())
    for f in dashboard["metadata"]["native_filter_configuration"]:
        assert f["scope"] == {"rootPath": ["ROOT_ID"], "excluded": []}
