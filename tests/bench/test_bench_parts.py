"""The benchmark's parts on hand-made data: references vs METRICS.md worked examples, chart SQL, report."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bench import charts, harness, reference_pandas, reference_sql, report

HEADER = (
    "source_system,contact_id,segment_seq,channel,direction,queue_code,caller_number,queue_entry_ts,"
    "answer_ts,end_ts,agent_id,wait_s,talk_s,hold_s,acw_s,outcome,transfer_type,transfer_to_queue,"
    "disposition,complaint,resolved"
)


def _row(cid, queue, caller, entry, wait, outcome, agent="", talk="", hold="", acw=""):
    """One segment; answer = entry + wait when answered."""
    entry_ts = pd.Timestamp(entry, tz="UTC")
    answered = outcome == "answered"
    answer = (entry_ts + pd.Timedelta(seconds=wait)).strftime("%Y-%m-%dT%H:%M:%SZ") if answered else ""
    end = (entry_ts + pd.Timedelta(seconds=wait + (talk or 0) + (hold or 0))).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"canonical,{cid},1,voice,inbound,{queue},{caller},{entry_ts:%Y-%m-%dT%H:%M:%SZ},{answer},{end},"
        f"{agent},{wait},{talk},{hold},{acw},{outcome},,,,false,"
    )


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """METRICS.md's worked examples as landing files (SL/ASA/AHT in one CSV, FCR in a Parquet file)."""
    root = tmp_path_factory.mktemp("landing")
    folder = root / "contact_segments"
    folder.mkdir()
    # one aftersales interval (Shanghai 10:00-10:30 local = 02:00 UTC), T = 20 s, S = 5 s
    stints = [
        ("answered", 8, "A", 100, 0, 20),
        ("answered", 20, "A", 200, 30, 10),
        ("answered", 35, "A", 150, 20, 40),
        ("abandoned", 3, None, None, None, None),
        ("abandoned", 12, None, None, None, None),
        ("abandoned", 50, None, None, None, None),
        ("timeout", 300, None, None, None, None),
        ("answered", 15, "B", 60, 0, 0),
        ("answered", 60, "B", 60, 0, 0),
        ("answered", 2, "B", 60, 0, 0),
    ]
    lines = [HEADER]
    for i, (outcome, wait, agent, talk, hold, acw) in enumerate(stints):
        lines.append(
            _row(
                f"S{i}",
                "aftersales",
                "",
                f"2026-03-11 02:{i:02d}:00",
                wait,
                outcome,
                agent or "",
                "" if talk is None else talk,
                "" if hold is None else hold,
                "" if acw is None else acw,
            )
        )
    (folder / "segments_2026-03-11.csv").write_text("\n".join(lines) + "\n")
    # FCR (W = 7 days, data through day 12): A day 1 + day 3, B day 1 + day 9, C day 10; D day 12 unanswered
    fcr = [("A", 1), ("A", 3), ("B", 1), ("B", 9), ("C", 10)]
    rows = [
        _row(
            f"F{i}",
            "presales",
            f"+86138000000{ord(c)}",
            f"2026-03-{d:02d} 02:00:00",
            5,
            "answered",
            "C1",
            100,
            0,
            0,
        )
        for i, (c, d) in enumerate(fcr)
    ]
    rows.append(_row("F9", "presales", "+8613800000099", "2026-03-12 02:00:00", 40, "abandoned"))
    frame = pd.read_csv(pd.io.common.StringIO("\n".join([HEADER, *rows])), dtype=str, keep_default_na=False)
    frame = frame.replace("", None)
    frame.to_parquet(folder / "segments_2026-03-01.parquet", index=False)
    return root


def test_anchor_counts_every_landing_row(landing):
    assert reference_sql.anchor(landing, full_parse=False)["rows"] == 16
    parsed = reference_sql.anchor(landing, full_parse=True)
    assert (parsed["rows"], parsed["csv_files"], parsed["parquet_files"]) == (16, 1, 1)


def test_sql_reference_reproduces_the_worked_examples(landing, tmp_path):
    facts = reference_sql.run(landing, tmp_path / "ref.duckdb")
    con = duckdb.connect(str(tmp_path / "ref.duckdb"), read_only=True)
    row = con.execute(
        "select offered, sl_num, sl_den, asa_num, asa_den from kpi_interval where queue_code = 'aftersales'"
    ).fetchall()
    assert row == [(10, 4, 9, 140.0, 6)]  # SL 4/9, ASA 140/6
    aht = dict(
        con.execute("select agent_id, aht_s from kpi_agent_day where agent_id in ('A', 'B')").fetchall()
    )
    assert aht == {"A": 190.0, "B": 60.0}  # (120 + 240 + 210) / 3
    fcr = con.execute("select sum(fcr_num), sum(fcr_den), sum(pending) from kpi_fcr_day").fetchone()
    assert tuple(map(int, fcr)) == (2, 3, 2)  # FCR 2/3, B/day 9 and C/day 10 pending
    con.close()
    assert facts["totals"]["offered"] == 16


def test_pandas_reference_equals_the_sql_reference(landing, tmp_path):
    sql = reference_sql.run(landing, tmp_path / "ref.duckdb")
    pdf = reference_pandas.run(landing, tmp_path / "pandas")
    assert pdf["totals"] == sql["totals"]
    interval = pd.read_parquet(tmp_path / "pandas" / "kpi_interval.parquet")
    after = interval[interval["queue_code"] == "aftersales"].iloc[0]
    assert after["sl"] == pytest.approx(4 / 9)
    assert after["asa"] == pytest.approx(140 / 6)


def test_every_bundle_chart_becomes_a_query_that_runs(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))
    from dash_serving_fixture import build_serving_fixture

    serving = build_serving_fixture(tmp_path / "serving.duckdb")
    chart_files = list((charts.BUNDLE / "charts").rglob("*.yaml"))
    results = charts.replay(serving, runs=2)
    assert len(results) == len(chart_files) > 0
    assert [r["chart"] for r in results if r["error"]] == []
    assert all(r["runs"] == 2 and r["p90_ms"] >= r["median_ms"] > 0 for r in results)
    sl_total = next(r for r in results if r["chart"] == "exec_sl_total")
    con = duckdb.connect(str(serving), read_only=True)
    expected = con.execute("select sum(sl_num) / sum(sl_den) from marts.agg_center_daily").fetchone()[0]
    assert con.execute(sl_total["sql"]).fetchone()[0] == pytest.approx(expected)
    con.close()


def test_chart_sql_shapes():
    dataset = {
        "schema": "marts",
        "table_name": "t",
        "metrics": [{"metric_name": "sl", "expression": "sum(sl_num) / nullif(sum(sl_den), 0)"}],
    }
    trend = {"metrics": ["sl"], "x_axis": "report_date", "time_grain_sqla": "P1W", "groupby": ["queue_code"]}
    sql = charts.chart_sql(trend, dataset)
    assert "date_trunc('week', \"report_date\")" in sql and "group by" in sql and '"queue_code"' in sql
    raw = {"query_mode": "raw", "all_columns": ["a", "b"], "order_by_cols": ['["b", false]'], "row_limit": 5}
    assert charts.chart_sql(raw, dataset) == 'select "a", "b" from "marts"."t" order by "b" desc limit 5'
    with pytest.raises(ValueError):
        charts.chart_sql(
            {"metric": "sl", "adhoc_filters": [{"operator": "TEMPORAL_RANGE", "comparator": "Last week"}]},
            dataset,
        )


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 21)]
    assert charts._pct(values, 0.9) == 18.0
    assert charts._pct([5.0], 0.9) == 5.0


def test_landing_files_split_by_day(tmp_path):
    assert harness.file_day(Path("contact_segments_2026-03-05.csv")) == date(2026, 3, 5)
    assert harness.file_day(Path("schedule_2026-04_sha.csv")) == date(2026, 4, 1)
    assert harness.file_day(Path("stress_survey_2025Q4.xlsx")) == date(2025, 10, 1)
    assert harness.file_day(Path("survey_waves.csv")) is None
    sim = tmp_path / "sim"
    for name in ("a/x_2026-03-01.csv", "a/x_2026-03-02.csv", "b/s_2026-03.csv", "b/s_2026-04.csv", "c/w.csv"):
        (sim / "landing" / name).parent.mkdir(parents=True, exist_ok=True)
        (sim / "landing" / name).write_text("x\n")
    first = harness.link_landing(sim, tmp_path / "i", through=date(2026, 3, 1))
    assert first["files"] == 3  # day 1, March schedule, undated
    assert harness.link_landing(sim, tmp_path / "i", on=date(2026, 3, 2))["files"] == 1
    assert sorted(p.name for p in (tmp_path / "i" / "landing").rglob("*.csv")) == [
        "s_2026-03.csv",
        "w.csv",
        "x_2026-03-01.csv",
        "x_2026-03-02.csv",
    ]


def test_the_new_day_is_one_without_periodic_exports(tmp_path):
    """The year ends on a Monday bringing the half-yearly roster and March's schedules: the
    measured new day is the Sunday before; a short history's new day skips the 1st of a month."""
    sim = tmp_path / "sim"
    for name in (
        "contact_segments/contact_segments_2027-02-28.csv",
        "contact_segments/contact_segments_2027-03-01.csv",
        "roster/roster_2027-03-01.xlsx",
        "schedules/schedule_2027-03_sha.csv",
        "schedules/schedule_2026-04_sha.csv",
        "customer_surveys/csat_2026-03-30.csv",
    ):
        (sim / "landing" / name).parent.mkdir(parents=True, exist_ok=True)
        (sim / "landing" / name).write_text("x\n")
    assert harness.plain_day(sim, date(2027, 3, 1), -1) == date(2027, 2, 28)
    assert harness.plain_day(sim, date(2027, 2, 28), -1) == date(2027, 2, 28)
    assert harness.plain_day(sim, date(2026, 4, 1), 1) == date(2026, 4, 2)
    assert harness.plain_day(sim, date(2026, 3, 30), 1) == date(
        2026, 3, 30
    )  # weekly surveys are daily business


def test_sizes_and_labels():
    size = harness.size_for_contacts(harness.parse_count("10M"), 365)
    assert size.label == "10M" and size.scale == pytest.approx(10_000_000 / (365 * 2900), rel=1e-3)
    assert harness.parse_count("200k") == 200_000
    assert harness.label_for(1_000_000) == "1M"


def _fake_result(**seconds) -> dict:
    steps = {
        name: {
            "seconds": s,
            "peak_rss_mb": 100.0 * (i + 1),
            "cpu_seconds": s,
            "loadavg_before": [0, 0, 0],
            "facts": {},
        }
        for i, (name, s) in enumerate(seconds.items())
    }
    return {
        "label": "1M",
        "days": 365,
        "scale": 1.0,
        "steps": steps,
        "incremental": {
            "long_history": {"seconds": 4.0, "history_days": 364, "day": "x", "peak_rss_mb": 1, "facts": {}},
            "short_history": {"seconds": 2.0, "history_days": 30, "day": "y", "peak_rss_mb": 1, "facts": {}},
        },
        "charts": [
            {"p90_ms": 20.0, "median_ms": 10.0, "runs": 20},
            {"p90_ms": 60.0, "median_ms": 30.0, "runs": 20},
        ],
    }


def test_targets_from_measured_seconds():
    r = _fake_result(
        anchor_count=1.0,
        anchor_parse=2.0,
        reference_sql=10.0,
        reference_pandas=80.0,
        ingest=5.0,
        dbt_build=14.0,
        checks=3.0,
        publish=1.0,
    )
    targets = {t["key"]: t for t in report.evaluate(r)}
    assert targets["end_to_end_s"]["measured"] == 23.0 and targets["end_to_end_s"]["met"]
    assert targets["dbt_vs_sql"]["measured"] == 1.4 and targets["dbt_vs_sql"]["met"]
    assert targets["pandas_vs_ours"]["measured"] == round(80 / 19, 2) and targets["pandas_vs_ours"]["met"]
    assert targets["new_day_growth"]["measured"] == 2.0 and targets["new_day_growth"]["met"] is False
    assert targets["chart_p90_ms"]["measured"] == 60.0 and targets["chart_p90_ms"]["met"] is False
    assert targets["peak_rss_mb"]["measured"] == 800.0  # publish, the 8th step, is the largest here


def test_render_target_is_the_slowest_median_warm_open_against_the_budget(tmp_path):
    result = {"reference": {"median_s": 0.5}, "dashboards": {"a": {"median_s": 2.9}, "b": {"median_s": 3.2}}}
    targets = {t["key"]: t for t in report.evaluate_dashboards(result)}
    assert targets["warm_render_s"]["measured"] == 3.2 and targets["warm_render_s"]["met"] is False
    assert targets["warm_render_vs_reference"]["measured"] == 6.4
    assert targets["warm_render_vs_reference"]["met"] is None  # reported, not judged
    result["dashboards"]["b"]["median_s"] = 3.0
    assert report.evaluate_dashboards(result)[0]["met"]  # the budget is inclusive
    # the renders' JSON sits beside the sizes' and is never read as a size
    (tmp_path / "smoke_dashboards.json").write_text(json.dumps(result))
    assert report.load_results(tmp_path, prefix="smoke_") == []
    assert report.load_dashboards(tmp_path, smoke=True) == result
    assert report.load_dashboards(tmp_path) is None
