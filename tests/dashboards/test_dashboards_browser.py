"""Dashboards in a real browser (Playwright + Debian chromium), logged in as an executive.

For each of the six dashboards: every chart renders, none shows an error, the headline numbers
equal the marts' values (queried read-only from the same serving file), a screenshot goes to
test-artifacts/dashboards/, and a warm re-open is served from Superset's cache (its timing is
written beside the screenshot; `callcenter bench` judges the 3 s budget, bench/render.py).
"""

from __future__ import annotations

import os
import sqlite3
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

from bench import render

pytestmark = [pytest.mark.browser, pytest.mark.superset]

BUNDLE = render.BUNDLE


def last_day(ratio: str) -> str:
    """A trend big number shows the latest day whose value is not null (a day without traffic is skipped)."""
    return (
        f"select v from (select report_date, {ratio} as v from marts.agg_center_daily group by report_date) "
        "where v is not null order by report_date desc limit 1"
    )


# dashboard -> [(chart key, SQL giving the number, d3 format the chart uses)]
KEY_NUMBERS = {
    "executive_overview": [
        ("exec_sl", last_day("sum(sl_num) / nullif(sum(sl_den), 0)"), ".1%"),
        ("exec_answer_rate", last_day("sum(answer_rate_num) / nullif(sum(answer_rate_den), 0)"), ".1%"),
        ("exec_abandon_rate", last_day("sum(abandon_rate_num) / nullif(sum(abandon_rate_den), 0)"), ".1%"),
        ("exec_asa", last_day("sum(asa_num) / nullif(sum(asa_den), 0)"), ",.1f"),
        ("exec_csat", last_day("sum(csat_num) / nullif(sum(csat_den), 0)"), ".1%"),
        ("exec_offered_total", "select sum(offered) from marts.agg_center_daily", ",d"),
        ("exec_sl_total", "select sum(sl_num) / sum(sl_den) from marts.agg_center_daily", ".1%"),
    ],
    "service_level": [
        ("sl_offered_total", "select sum(offered) from marts.agg_queue_interval", ",d"),
        ("sl_sl_total", "select sum(sl_num) / sum(sl_den) from marts.agg_queue_interval", ".1%"),
        ("sl_asa_total", "select sum(asa_num) / sum(asa_den) from marts.agg_queue_interval", ",.1f"),
    ],
    "agent_performance": [
        ("agent_handled_total", "select sum(handled) from marts.agg_agent_daily", ",d"),
        (
            "agent_occupancy_total",
            "select sum(occupancy_num) / sum(occupancy_den) from marts.agg_agent_daily",
            ".1%",
        ),
        ("agent_aht_total", "select sum(handle_s) / sum(handled) from marts.agg_agent_daily", ",.1f"),
    ],
    "customer_experience": [
        ("cx_csat_total", "select sum(csat_top2) / sum(csat_n) from marts.agg_csat_daily", ".1%"),
        ("cx_csat_n", "select sum(csat_n) from marts.agg_csat_daily", ",d"),
        ("cx_fcr_total", "select sum(fcr_repeat_num) / sum(fcr_repeat_den) from marts.agg_fcr_daily", ".1%"),
    ],
    "stress_survey": [
        ("stress_returned", "select sum(returned) from marts.agg_stress_wave where grouping = 'all'", ",d"),
        (
            "stress_response_rate",
            "select sum(response_rate_num) / sum(response_rate_den) from marts.agg_stress_wave where grouping = 'all'",
            ".1%",
        ),
    ],
    "data_quality": [
        ("dq_checks_total", "select count(*) from marts.dq_results", ",d"),
        ("dq_failed_total", "select count(*) filter (where not success) from marts.dq_results", ",d"),
        ("dq_quarantined_total", "select sum(rows) from marts.dq_quarantine_summary", ",d"),
    ],
}


def _js_fixed(x: float, places: int) -> str:
    """JavaScript's toFixed (what d3-format uses): ties on the double's shortest repr round up,
    so 0.9125 shows as 91.3% where Python's format would give 91.2%."""
    q = Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{q:,}"


def d3(value: float | None, fmt: str) -> str:
    if value is None:  # e.g. nothing quarantined: Superset shows "No data" in the UI language
        return "No data"
    return {
        ".1%": _js_fixed(value * 100, 1) + "%",
        ",d": _js_fixed(value, 0),
        ",.1f": _js_fixed(value, 1),
    }[fmt]


def chart_titles(slug: str) -> dict[str, str]:
    return {
        p.stem: yaml.safe_load(p.read_text())["slice_name"] for p in (BUNDLE / "charts" / slug).glob("*.yaml")
    }


@pytest.fixture(scope="module")
def chromium_profile(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chromium_profile")


@pytest.fixture(scope="module")
def executive_page(superset, chromium_profile):
    pytest.importorskip("playwright.sync_api")
    if not Path(render.CHROMIUM).exists():
        pytest.skip("no Debian chromium (make setup)")
    # An executive's screen (render.SCREEN), not a window tall enough to hold every chart: charts
    # below the fold are still drawn when the dashboard opens (DASHBOARD_VIRTUALIZATION off in
    # superset_config.py) and render.ALL_RENDERED_JS counts every one of them; full-page
    # screenshots show them all.
    with render.logged_in_page(
        superset.url, "executive", superset.passwords["executive"], chromium_profile
    ) as page:
        yield page


def rison(value) -> str:
    """Rison (the encoding of Superset's `native_filters` URL parameter) for dicts, lists and strings."""
    if isinstance(value, dict):
        return "(" + ",".join(f"{rison(k)}:{rison(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "!(" + ",".join(rison(v) for v in value) + ")"
    return "'" + str(value).replace("!", "!!").replace("'", "!'") + "'"


def open_dashboard(page, superset, slug: str, timeout_ms: int, query: str = "") -> render.Render:
    return render.open_dashboard(page, superset.url, slug, timeout_ms, query)


def wait_until_settled(page, expected: int, timeout_s: float, quiet_s: float = 0.5) -> float:
    """Seconds until every chart has stayed drawn for quiet_s (a re-mounted grid starts over)."""
    started = time.monotonic()
    drawn_since = None
    while time.monotonic() - started < timeout_s:
        if page.evaluate(render.ALL_RENDERED_JS, expected):
            drawn_since = drawn_since or time.monotonic()
            if time.monotonic() - drawn_since >= quiet_s:
                return time.monotonic() - started
        else:
            drawn_since = None
        page.wait_for_timeout(100)
    raise AssertionError(f"charts not all drawn and steady for {quiet_s} s within {timeout_s} s")


@pytest.mark.parametrize("slug", list(KEY_NUMBERS))
def test_dashboard_renders_every_chart_with_the_marts_numbers(
    executive_page, superset, artifacts, chromium_profile, slug
):
    page = executive_page
    open_dashboard(page, superset, slug, timeout_ms=90_000)  # cold: first query of each chart
    # Read the grid only once it has stayed fully drawn: in one CI run (under load) the grid was
    # gone an instant after every chart had drawn (count 0 of 6, URL already carrying its
    # native_filters_key), and came back. A grid that never settles still fails here.
    settled_at = wait_until_settled(page, render.chart_count(slug), timeout_s=30)
    page.screenshot(path=str(artifacts / f"{slug}.png"), full_page=True)
    wait_until_settled(
        page, render.chart_count(slug), timeout_s=30
    )  # a full-page screenshot resizes the page

    charts = page.locator("[data-test='chart-grid-component']")
    assert charts.count() == render.chart_count(slug), f"{slug}: grid settled after {settled_at:.1f} s"
    errors = page.locator(
        "[data-test='chart-grid-component'] .alert, [data-test='chart-grid-component'] [role='alert'], "
        "[data-test='chart-grid-component'] [data-test='error-message']"
    ).all_inner_texts()
    assert errors == [], f"{slug}: charts show errors: {errors}"

    titles = chart_titles(slug)
    for key, sql, fmt in KEY_NUMBERS[slug]:
        (value,) = superset.query(sql)[0]
        shown = page.locator(
            f"[data-test='chart-grid-component'][data-test-chart-name='{titles[key]}'] .header-line"
        )
        expected = d3(value, fmt)
        text = shown.inner_text().strip()
        assert text == expected or (expected == "No data" and text in ("No data", "没有数据", "N/A")), (
            f"{slug}/{key}"
        )

    # A warm re-open (chart data from Superset's cache): its timing goes to the artifacts for a
    # reader; the 3 s budget of issue 8 is judged by `callcenter bench` (bench/render.py), on the
    # demo data, against a reference measured in the same run, not here.
    warm = render.timed_open(page, superset.url, superset.data_dir, chromium_profile, slug)
    load_per_cpu = os.getloadavg()[0] / (os.cpu_count() or 1)
    (artifacts / f"{slug}.timing.txt").write_text(
        f"warm render (navigation to every chart drawn) {warm.seconds:.2f} s; "
        f"{render.chart_count(slug)} charts, {warm.below_the_fold} of them below the fold of a "
        f"{render.SCREEN['width']}x{render.SCREEN['height']} screen; "
        f"chart data requests {warm.chart_requests} ({warm.cached} from Superset's cache), "
        f"first sent at {warm.first_chart_request_s:.2f} s, last answered at {warm.last_chart_data_s:.2f} s, "
        f"slowest {warm.slowest_chart_ms:.0f} ms; CPU seconds: browser {warm.browser_cpu_s:.2f}, "
        f"Superset {warm.server_cpu_s:.2f}; 1-min load per CPU {load_per_cpu:.1f}\n"
    )
    assert (
        warm.chart_requests >= 1 and warm.cached == warm.chart_requests
    )  # warm = served from the data cache
    if slug == "executive_overview":  # charts off the first screen are drawn unscrolled too
        assert warm.below_the_fold > 0


def test_executive_overview_follows_the_queue_and_site_filters(executive_page, superset):
    """Every headline follows the queue and site filters: the complaint rate and SL of one queue at one site."""
    queue, site = superset.query(
        "select queue_code, site_code from marts.agg_queue_daily group by all order by sum(handled) desc limit 1"
    )[0]
    slug = "executive_overview"
    native_filters = {
        f"NATIVE_FILTER-{slug}-{key}": {
            "id": f"NATIVE_FILTER-{slug}-{key}",
            "extraFormData": {"filters": [{"col": column, "op": "IN", "val": [value]}]},
            "filterState": {"value": [value]},
            "ownState": {},
        }
        for key, column, value in (("queue", "queue_code", queue), ("site", "site_code", site))
    }
    open_dashboard(executive_page, superset, slug, 90_000, query=f"?native_filters={rison(native_filters)}")
    # ground truth from the contact and queue marts, not from the serving tables the charts read
    latest_complaint_rate = superset.query(
        "select v from (select report_date, count(*) filter (where is_handled and complaint) "
        "/ nullif(count(*) filter (where is_handled), 0) as v from marts.fct_contacts "
        f"where coalesce(last_queue_code, first_queue_code) = '{queue}' and site_code = '{site}' group by 1) "
        "where v is not null order by report_date desc limit 1"
    )[0][0]
    sl_total, offered = superset.query(
        "select sum(sl_num) / sum(sl_den), sum(offered) from marts.agg_queue_daily "
        f"where queue_code = '{queue}' and site_code = '{site}'"
    )[0]
    (center_offered,) = superset.query("select sum(offered) from marts.agg_center_daily")[0]
    assert 0 < offered < center_offered  # the fixture and the demo have more than one queue
    titles = chart_titles(slug)
    shown = {
        key: executive_page.locator(
            f"[data-test='chart-grid-component'][data-test-chart-name='{titles[key]}'] .header-line"
        )
        .inner_text()
        .strip()
        for key in ("exec_complaint_rate", "exec_sl_total", "exec_offered_total")
    }
    assert shown == {
        "exec_complaint_rate": d3(latest_complaint_rate, ".1%"),
        "exec_sl_total": d3(sl_total, ".1%"),
        "exec_offered_total": d3(offered, ",d"),  # one queue's, not the center's
    }


def test_executive_cannot_open_sql_lab(executive_page, superset, artifacts):
    page = executive_page
    response = page.goto(f"{superset.url}/sqllab/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "executive_sqllab.png"))
    editor = page.locator(".ace_editor, [data-test='sql-editor-tabs'], #brace-editor")
    assert editor.count() == 0
    assert "/sqllab" not in page.url or (response is not None and response.status in (401, 403, 404))


def test_event_log_keeps_the_audit_trail_without_inner_spans(executive_page, superset):
    """A dashboard open leaves its audit rows (page view, dashboard API read, one row per
    chart-data read) in Superset's event log, and none of a request's inner timing spans
    (AuditEventLogger in superset_config.py, DECISIONLOG.md)."""
    metadata = superset.data_dir / "superset" / "superset.db"

    def actions() -> dict[str, int]:
        con = sqlite3.connect(f"file:{metadata}?mode=ro", uri=True)
        try:
            return dict(
                con.execute(
                    "select action, count(*) from logs where user_id = "
                    "(select id from ab_user where username = 'executive') group by action"
                ).fetchall()
            )
        finally:
            con.close()

    before = actions()
    render = open_dashboard(executive_page, superset, "data_quality", timeout_ms=90_000)
    after = actions()
    added = {action: n - before.get(action, 0) for action, n in after.items() if n > before.get(action, 0)}
    assert added.get("dashboard", 0) >= 1  # the page view
    assert added.get("DashboardRestApi.get", 0) >= 1
    assert added.get("ChartDataRestApi.data", 0) >= render.chart_requests  # every chart-data read
    inner = [a for a in after if a == "_get_data_response" or a.endswith((".json_dumps", ".post_processing"))]
    assert inner == []
