"""`callcenter bench --smoke`: the whole harness end to end on ~3,000 contacts, and the dashboards'
warm renders on a week of demo data (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.render import chart_count, dashboard_slugs
from bench.report import PIPELINE_STEPS

pytestmark = pytest.mark.slow


def test_smoke_run_writes_results_and_report(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "callcenter.cli",
            "--data-dir",
            str(tmp_path / "d"),
            "bench",
            "--smoke",
            "--out",
            str(out),
            "--work-dir",
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((out / "smoke_3k.json").read_text())

    assert 2_000 <= result["simulation"]["contacts"] <= 4_000
    for step in ["anchor_count", "anchor_parse", "reference_sql", "reference_pandas", *PIPELINE_STEPS]:
        assert result["steps"][step]["seconds"] > 0 and result["steps"][step]["peak_rss_mb"] > 0, step
    # the anchor saw every landing segment of the history; our warehouse holds them all
    assert (
        result["steps"]["anchor_parse"]["facts"]["rows"] == result["kpi_totals"]["reference_sql"]["offered"]
    )
    totals = result["kpi_totals"]
    assert totals["reference_pandas"] == totals["reference_sql"]
    # same definitions as our marts for SL, ASA and AHT (FCR differs: the references key raw numbers)
    for k in ("offered", "sl_num", "sl_den", "asa_num", "asa_den", "handled", "handle_s"):
        assert totals["marts"][k] == totals["reference_sql"][k], k
    assert result["dbt_full_build"]["nodes"] > 0 and result["dbt_full_build"]["slowest"]
    assert len(result["charts"]) >= 50 and not [c for c in result["charts"] if c["error"]]
    assert result["incremental"]["long_history"]["facts"]["steps"].keys() >= {
        "ingest",
        "dbt build",
        "publish",
    }
    assert result["incremental"]["long_history"]["files"] >= 2  # the new day's segments and agent states
    assert len(result["machine"]["versions"]) >= 5 and len(result["loadavg_start"]) == 3
    assert {t["key"] for t in result["targets"]} >= {"end_to_end_s", "dbt_vs_sql", "chart_p90_ms"}

    # the dashboards' warm renders in a real Superset and chromium, on a week of demo data
    renders = json.loads((out / "smoke_dashboards.json").read_text())
    assert sorted(renders["dashboards"]) == dashboard_slugs() and len(renders["dashboards"]) == 6
    for slug, d in renders["dashboards"].items():
        assert d["charts"] == chart_count(slug) > 0, slug
        assert len(d["opens_s"]) == 2 and d["median_s"] > 0 and d["all_from_cache"], slug
        assert all(o["chart_requests"] >= 1 and o["cached"] == o["chart_requests"] for o in d["opens"]), slug
        assert d["vs_reference"] == round(d["median_s"] / renders["reference"]["median_s"], 2)
    assert renders["reference"]["charts"] == 0 and renders["reference"]["median_s"] > 0
    slowest = max(d["median_s"] for d in renders["dashboards"].values())
    assert [(t["key"], t["measured"]) for t in renders["targets"]][0] == ("warm_render_s", slowest)

    markdown = (out / "BENCHMARKS.md").read_text()
    assert "| target | goal | 3k | note |" in markdown
    for heading in (
        "## Targets",
        "## Steps",
        "## One more day",
        "## Dashboard chart queries",
        "## Dashboard renders",
    ):
        assert heading in markdown
    assert f"{result['machine']['cores']} cores" in markdown
