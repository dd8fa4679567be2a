"""Warm dashboard opens in a real Superset and chromium, against Superset's own floor.

Issue 8's budget: every chart of a dashboard drawn within 3 s of navigation, on the demo data, with
a warm Superset (chart data from its cache) and a warm browser (a persistent profile, so V8's code
cache works as in a user's browser). `callcenter bench` measures it (BENCHMARKS.md, "Dashboard
renders") against a reference opened in the same run and browser: a dashboard without charts, which
is what Superset's frontend costs before any chart of ours. The browser tests
(tests/dashboards/test_dashboards_browser.py) open the dashboards the same way to check what is
drawn; time is judged here, not there.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import yaml

from callcenter.config import REPO_ROOT

BUNDLE = REPO_ROOT / "dashboards" / "bundle"
CHROMIUM = "/usr/bin/chromium"  # Debian's; never `playwright install` (DESIGN.md)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREEN = {"width": 1920, "height": 1080}  # an executive's monitor: charts below the fold count too
REFERENCE_SLUG = "bench_reference_no_charts"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The grid is there and every chart in it is drawn: a chart element, an error, an empty state or text.
ALL_RENDERED_JS = """
(expected) => {
  if (!document.querySelector("[data-test='grid-container']")) return false;
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

# charts whose top edge is below the window: drawn although the executive has not scrolled yet
BELOW_THE_FOLD_JS = """
() => [...document.querySelectorAll("[data-test='chart-grid-component']")]
  .filter(c => c.getBoundingClientRect().top >= window.innerHeight).length
"""


def dashboard_slugs() -> list[str]:
    return sorted(p.stem for p in (BUNDLE / "dashboards").glob("*.yaml"))


def chart_count(slug: str) -> int:
    """Charts placed on a bundle dashboard (0 for the reference, which is not in the bundle)."""
    path = BUNDLE / "dashboards" / f"{slug}.yaml"
    if not path.is_file():
        return 0
    position = yaml.safe_load(path.read_text())["position"]
    return sum(1 for n in position.values() if isinstance(n, dict) and n.get("type") == "CHART")


def read_logins(data_dir: Path) -> dict[str, str]:
    """username -> password from the instance's secrets (written by `callcenter serve`)."""
    text = (data_dir / "secrets" / "superset_users.txt").read_text()
    return {
        line.split("\t")[0]: line.split("\t")[1]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


# --------------------------------------------------------------------------------------------
# CPU seconds of the browser and of Superset


def _processes() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, user+system CPU seconds, command line) of every process we can read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            found[int(entry.name)] = (
                int(fields[1]),
                (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
                cmdline,
            )
    return found


def cpu_seconds(data_dir: Path, profile: Path) -> tuple[float, float]:
    """CPU seconds used so far by the browser (every chromium process of this profile) and by
    Superset (the gunicorn master started by `callcenter serve` and its workers)."""
    procs = _processes()
    browser = sum(cpu for _, cpu, cmd in procs.values() if f"--user-data-dir={profile}" in cmd)
    server_pid = int((data_dir / "run" / "superset.pid").read_text())
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in procs.items():
        children.setdefault(parent, []).append(pid)
    server, stack = 0.0, [server_pid]
    while stack:
        pid = stack.pop()
        server += procs[pid][1] if pid in procs else 0.0
        stack += children.get(pid, [])
    return browser, server


# --------------------------------------------------------------------------------------------
# one open


@dataclass
class Render:
    seconds: float  # navigation to every chart drawn
    chart_requests: int  # /api/v1/chart/data calls
    cached: int  # of those, answered from Superset's data cache
    slowest_chart_ms: float  # longest request -> last byte of one chart's data
    first_chart_request_s: float  # navigation -> the first chart-data request sent (page boot)
    last_chart_data_s: float  # navigation -> the last chart-data response received
    below_the_fold: int  # of the drawn charts, how many lie below the first screen
    browser_cpu_s: float = 0.0  # CPU seconds of chromium's processes during the open
    server_cpu_s: float = 0.0  # CPU seconds of Superset's processes during the open


class PageErrors(AssertionError):
    """The page met HTTP errors while loading (a chart's data, a permission, a script)."""


def open_dashboard(page, base_url: str, slug: str, timeout_ms: int, query: str = "") -> Render:
    """Open a dashboard and wait for every chart; raises PageErrors on any HTTP error the page meets."""
    failed: list[tuple[int, str]] = []
    chart_data: list = []

    def record(response) -> None:
        # The frontend tries to store the dashboard's label colours on first view; a read-only
        # executive is rightly refused (403). Anything else is a real problem.
        benign = response.status == 403 and "/colors?" in response.url and response.request.method == "PUT"
        if response.status >= 400 and not benign:
            failed.append((response.status, response.url))
        elif "/api/v1/chart/data" in response.url:
            chart_data.append(response)

    page.on("response", record)
    try:
        started, started_epoch_ms = time.monotonic(), time.time() * 1000
        page.goto(f"{base_url}/superset/dashboard/{slug}/{query}")
        page.wait_for_function(ALL_RENDERED_JS, arg=chart_count(slug), timeout=timeout_ms, polling=100)
        elapsed = time.monotonic() - started
        below_the_fold = page.evaluate(BELOW_THE_FOLD_JS)
    finally:
        page.remove_listener("response", record)
    # e.g. a role missing the language pack or event-log permission shows up here, not as a chart error
    if failed:
        raise PageErrors(f"{slug}: HTTP errors while loading: {failed}")
    # A request the previous page sent (a native filter's options can be answered after its charts
    # were drawn) may report its response once this listener is on; its body went with that page.
    chart_data = [r for r in chart_data if r.request.timing["startTime"] >= started_epoch_ms]
    cached = sum(1 for r in chart_data if all(q.get("is_cached") for q in r.json().get("result", [])))
    timings = [r.request.timing for r in chart_data]
    slowest = max((t.get("responseEnd", 0) for t in timings), default=0.0)
    first_sent = min((t["startTime"] - started_epoch_ms for t in timings), default=0.0) / 1000
    last_received = (
        max((t["startTime"] + t["responseEnd"] - started_epoch_ms for t in timings), default=0.0) / 1000
    )
    return Render(elapsed, len(chart_data), cached, slowest, first_sent, last_received, below_the_fold)


def timed_open(page, base_url: str, data_dir: Path, profile: Path, slug: str) -> Render:
    """An open with the CPU seconds the browser and Superset spent on it."""
    browser_before, server_before = cpu_seconds(data_dir, profile)
    render = open_dashboard(page, base_url, slug, timeout_ms=60_000)
    browser_after, server_after = cpu_seconds(data_dir, profile)
    return replace(
        render, browser_cpu_s=browser_after - browser_before, server_cpu_s=server_after - server_before
    )


@contextmanager
def logged_in_page(base_url: str, username: str, password: str, profile: Path):
    """A chromium page in a persistent profile, logged in to Superset."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # A persistent profile, like a user's browser: V8's code cache lives there, so a re-opened
        # dashboard does not compile Superset's scripts again (an incognito context keeps none).
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, viewport=SCREEN
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(f"{base_url}/login/")
            page.fill("input#username", username)
            page.fill("input#password", password)
            page.keyboard.press("Enter")
            page.wait_for_url("**/superset/welcome/**", timeout=60_000)
            yield page
        finally:
            context.close()


# --------------------------------------------------------------------------------------------
# the reference and the measurement


def create_reference_dashboard(base_url: str, logins: dict[str, str]) -> str:
    """A published dashboard without charts, owned by the executive (so the executive may open it),
    created through Superset's REST API as admin; kept if it exists. Returns its slug."""
    import requests

    def session(user: str) -> requests.Session:
        s = requests.Session()
        r = s.post(
            f"{base_url}/api/v1/security/login",
            json={"username": user, "password": logins[user], "provider": "db", "refresh": False},
            timeout=30,
        )
        r.raise_for_status()
        s.headers["Authorization"] = "Bearer " + r.json()["access_token"]
        return s

    executive_id = session("executive").get(f"{base_url}/api/v1/me/", timeout=30).json()["result"]["id"]
    admin = session("admin")
    found = admin.get(
        f"{base_url}/api/v1/dashboard/",
        params={"q": f"(filters:!((col:slug,opr:eq,value:{REFERENCE_SLUG})))"},
        timeout=30,
    )
    found.raise_for_status()
    if found.json()["count"]:
        return REFERENCE_SLUG
    csrf = admin.get(f"{base_url}/api/v1/security/csrf_token/", timeout=30)
    csrf.raise_for_status()
    admin.headers.update({"X-CSRFToken": csrf.json()["result"], "Referer": base_url})
    created = admin.post(
        f"{base_url}/api/v1/dashboard/",
        json={
            "dashboard_title": "bench reference (no charts)",
            "slug": REFERENCE_SLUG,
            "published": True,
            "owners": [executive_id],
        },
        timeout=30,
    )
    created.raise_for_status()
    return REFERENCE_SLUG


def measure_warm_renders(base_url: str, data_dir: Path, profile: Path, *, opens: int = 3, echo=print) -> dict:
    """Each dashboard (and the reference) opened once to warm Superset's cache and the browser, then
    `opens` times more as the executive; the median of those warm opens is what the budget judges."""
    logins = read_logins(data_dir)
    reference = create_reference_dashboard(base_url, logins)
    dashboards: dict[str, dict] = {}
    with logged_in_page(base_url, "executive", logins["executive"], profile) as page:
        for slug in [reference, *dashboard_slugs()]:
            open_dashboard(page, base_url, slug, timeout_ms=120_000)  # fills the data cache
            warm = [timed_open(page, base_url, data_dir, profile, slug) for _ in range(opens)]
            seconds = [w.seconds for w in warm]
            dashboards[slug] = {
                "charts": chart_count(slug),
                "median_s": round(statistics.median(seconds), 3),
                "best_s": round(min(seconds), 3),
                "opens_s": [round(s, 3) for s in seconds],
                "all_from_cache": all(w.cached == w.chart_requests for w in warm),
                "median_browser_cpu_s": round(statistics.median(w.browser_cpu_s for w in warm), 2),
                "median_server_cpu_s": round(statistics.median(w.server_cpu_s for w in warm), 2),
                "opens": [asdict(w) for w in warm],
            }
            echo(
                f"  {slug}: warm render median {dashboards[slug]['median_s']:.2f} s "
                f"({', '.join(f'{s:.2f}' for s in seconds)}), {chart_count(slug)} charts"
            )
    floor = dashboards.pop(reference)
    for d in dashboards.values():
        d["vs_reference"] = round(d["median_s"] / floor["median_s"], 2)
    return {"reference": floor, "dashboards": dashboards}
