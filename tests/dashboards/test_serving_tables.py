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


def chart_query(slug: str, key: str, extra_where: str = "") -> list[tuple]:
    """The SQL the dashboard runs for one chart (bench/charts.py's replay), optionally filtered."""
    from bench.charts import chart_sql

    chart = yaml.safe_load((BUNDLE / "charts" / slug / f"{key}.yaml").read_text())
    dataset = next(d for d in datasets() if d["uuid"] == chart["dataset_uuid"])
    params = dict(chart["params"])
    if extra_where:  # a native filter: Superset adds it to the WHERE clause
        params["adhoc_filters"] = params["adhoc_filters"] + [
            {"clause": "WHERE", "expressionType": "SQL", "sqlExpression": extra_where}
        ]
    return dataset["table_name"], chart_sql(params, dataset)


AGENT_DAILY_EQUIVALENTS = {
    # chart key -> the same numbers straight from agg_agent_daily (what the chart read before)
    "agent_handled_total": "select sum(handled) from marts.agg_agent_daily {where}",
    "agent_aht_total": "select sum(handle_s) / nullif(sum(handled), 0) from marts.agg_agent_daily {where}",
    "agent_occupancy_total": "select sum(occupancy_num) / nullif(sum(occupancy_den), 0) from marts.agg_agent_daily {where}",
    "agent_adherence_total": "select sum(adherence_num) / nullif(sum(adherence_den), 0) from marts.agg_agent_daily {where}",
    "agent_occupancy": "select report_date, sum(occupancy_num) / nullif(sum(occupancy_den), 0) "
    "from marts.agg_agent_daily {where} group by 1 order by 1",
    "agent_adherence": "select report_date, sum(adherence_num) / nullif(sum(adherence_den), 0), "
    "sum(conformance_num) / nullif(sum(conformance_den), 0) from marts.agg_agent_daily {where} group by 1 order by 1",
    "agent_occupancy_by_team": "select team, sum(occupancy_num) / nullif(sum(occupancy_den), 0) "
    "from marts.agg_agent_daily {where} group by 1",
    "agent_aht_distribution": "select team, agent_name, sum(handle_s) / nullif(sum(handled), 0) "
    "from marts.agg_agent_daily {where} group by 1, 2",
    "agent_attendance": "select agent_name, team, sum(late_login::int), sum(early_logout::int), sum(absent::int), "
    "sum(long_not_ready_count) from marts.agg_agent_daily {where} group by 1, 2 "
    "having sum(late_login::int) + sum(early_logout::int) + sum(absent::int) + sum(long_not_ready_count) > 0",
}


def _normalised(result: list[tuple]) -> list[tuple]:
    rounded = [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in result]
    return sorted(rounded, key=lambda row: tuple((v is None, str(v)) for v in row))


@pytest.mark.parametrize("where", ["", "team = 'team_a'", "site_code = 'lon'"], ids=["all", "team", "site"])
@pytest.mark.parametrize("key", sorted(AGENT_DAILY_EQUIVALENTS))
def test_agent_performance_charts_show_the_agent_daily_numbers(con, key, where):
    """The team x day and agent x month marts give every agent-performance chart the numbers it
    showed on agg_agent_daily, under the team and site filters too (the date filter: a whole
    month for the agent x month charts, tested below)."""
    table, sql = chart_query("agent_performance", key, where)
    assert table in ("agg_team_daily", "agg_agent_monthly")
    if where:
        assert where in sql
    got = _normalised([r[:3] if key == "agent_adherence" else r for r in rows(con, sql)])
    expected = _normalised(
        rows(con, AGENT_DAILY_EQUIVALENTS[key].format(where=f"where {where}" if where else ""))
    )
    if key == "agent_occupancy" or key == "agent_adherence":  # the chart's x axis is date_trunc('day', ...)
        got = [(r[0].date() if hasattr(r[0], "date") else r[0], *r[1:]) for r in got]
    assert got == expected and len(got) >= 1


def test_agent_monthly_charts_follow_a_whole_month_date_filter(con):
    """The fixture holds October 1-14: a date filter on October gives the same numbers from the
    agent x month mart as from the agent x day rows; a range starting inside a month leaves it out
    (documented: these two charts filter by whole months)."""
    _, sql = chart_query("agent_performance", "agent_aht_distribution", "month >= date '2026-10-01'")
    assert _normalised(rows(con, sql)) == _normalised(
        rows(
            con,
            AGENT_DAILY_EQUIVALENTS["agent_aht_distribution"].format(
                where="where report_date >= date '2026-10-01'"
            ),
        )
    )
    _, sql = chart_query("agent_performance", "agent_aht_distribution", "month >= date '2026-10-05'")
    assert rows(con, sql) == []


@pytest.mark.parametrize(
    "where", ["", "queue_code = 'presales'", "interval_start_local = timestamp '2026-10-14 19:30'"]
)
def test_abandoned_contacts_drill_down_lists_the_stints_it_listed_before(con, where):
    """Same 100 rows, same order, as the old query on fct_queue_stints, also when the queue filter
    or a click on a missed interval (a filter on interval_start_local and queue_code) narrows it."""
    table, sql = chart_query("service_level", "sl_abandoned_contacts", where)
    assert table == "fct_abandoned_stints"
    before = (
        'select "interval_start_local", "queue_code", "contact_id", "caller_key", "wait_s", "is_short_abandon" '
        "from marts.fct_queue_stints where outcome = 'abandoned'" + (f" and {where}" if where else "")
    )
    got = rows(con, sql)
    expected = rows(con, before + " order by interval_start_local desc, contact_id limit 100")
    # rows tied on interval_start_local come in any order, and the 100th row's interval may be cut
    # anywhere: same times in the same order, same rows above the last interval shown
    assert [r[0] for r in got] == [r[0] for r in expected] and len(got) >= 1
    last = got[-1][0]
    assert sorted(r for r in got if r[0] > last) == sorted(r for r in expected if r[0] > last)
    if len(expected) < 100:
        assert sorted(got) == sorted(expected)
