"""The tables the dashboards read are dbt marts, copied by the publish step and nothing else.

The marts' numbers are tested in dbt (unit tests of agg_contact_outcomes_daily and
agg_complaints_daily in dbt/models/marts/_marts__models.yml; the data test
dbt/tests/reconciliation/assert_contact_outcomes_daily_sum_to_center_daily.sql). Here: the
bundle's datasets name only marts, publishing copies them one to one, the metric expressions give
the hand-computed numbers on the dashboards' fixture (dash_serving_fixture.py), and every
executive-overview chart follows the queue, site and date filters.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from dash_serving_fixture import build_serving_fixture

from callcenter import publish
from callcenter.config import data_paths

BUNDLE = Path(__file__).resolve().parents[2] / "dashboards" / "bundle"
MARTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "marts.md"


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build_serving_fixture(tmp_path_factory.mktemp("srv") / "serving.duckdb")
    c = duckdb.connect(str(path), read_only=True)
    yield c
    c.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def datasets() -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((BUNDLE / "datasets").rglob("*.yaml"))]


def metric(table: str, name: str) -> str:
    ds = next(d for d in datasets() if d["table_name"] == table)
    return next(m["expression"] for m in ds["metrics"] if m["metric_name"] == name)


def test_every_dataset_reads_a_documented_mart():
    documented = MARTS_DOC.read_text()
    tables = [d["table_name"] for d in datasets()]
    assert "agg_contact_outcomes_daily" in tables and "agg_complaints_daily" in tables
    assert [t for t in tables if t.startswith("srv_")] == []
    assert [t for t in tables if f"`{t}`" not in documented] == []


def test_publish_copies_the_marts_and_adds_only_publish_info(data_dir, tmp_path):
    paths = data_paths(data_dir).ensure()
    build_serving_fixture(paths.warehouse)  # a warehouse holding exactly the dashboards' marts
    wh = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        before = {
            t: wh.execute(f"select count(*) from marts.{t}").fetchone()[0]
            for t in publish.published_tables(wh, "warehouse")
        }
    finally:
        wh.close()
    snap = publish.publish(paths, "run1")
    assert snap.tables == before
    served = duckdb.connect(str(paths.serving), read_only=True)
    try:
        tables = {r[0] for r in served.execute("select table_name from information_schema.tables").fetchall()}
    finally:
        served.close()
    assert tables == set(before) | {publish.PUBLISH_INFO_TABLE}


def test_executive_complaint_rate_per_queue_is_that_queues_contacts(con):
    # the executive overview's complaint rate filtered to presales, counted by hand from fct_contacts
    (by_hand,) = rows(
        con,
        "select count(*) filter (where is_handled and complaint) * 1.0 / count(*) filter (where is_handled) "
        "from marts.fct_contacts where coalesce(last_queue_code, first_queue_code) = 'presales'",
    )
    (served,) = rows(
        con,
        f"select {metric('agg_contact_outcomes_daily', 'complaint_rate')} "
        "from marts.agg_contact_outcomes_daily where queue_code = 'presales'",
    )
    assert served[0] == pytest.approx(by_hand[0]) and 0 < served[0] < 1


def test_complaints_by_reason_sum_to_distinct_complaining_contacts(con):
    direct = rows(
        con,
        "select disposition, count(distinct contact_id) from marts.fct_agent_segments where complaint "
        "group by 1 order by 1",
    )
    served = rows(
        con,
        f"select disposition, {metric('agg_complaints_daily', 'complaints')} "
        "from marts.agg_complaints_daily group by 1 order by 1",
    )
    assert served == direct and len(served) >= 2


def test_staffing_per_day_is_the_days_total_over_queues_averaged(con):
    # 09:00 on the fixture: two queues x 14 days; the average day's total over queues, by hand
    (expected,) = rows(
        con,
        "select avg(total) from (select interval_start_local, sum(scheduled_agents) as total "
        "from marts.agg_staffing_interval where strftime(interval_start_local, '%H:%M') = '09:00' group by 1)",
    )
    expression = metric("agg_staffing_interval", "scheduled_agents_per_day")
    (got,) = rows(con, f"select {expression} from marts.agg_staffing_interval where time_of_day = '09:00'")
    assert got[0] == pytest.approx(expected[0]) and expected[0] > 0


def dataset_columns() -> dict[str, set[str]]:
    return {d["uuid"]: {c["column_name"] for c in d["columns"]} for d in datasets()}


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
