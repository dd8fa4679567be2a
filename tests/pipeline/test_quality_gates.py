"""GX suites on hand-made warehouses: each injected fault is caught by the right check and severity."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from warehouse_factory import START, execute

from expectations import runner


def _failed(report) -> dict[str, runner.CheckResult]:
    return {f"{r.suite}.{r.check_name}": r for r in report.results if not r.success}


def test_suite_files_are_gx1_json_with_named_checks():
    suites = runner.load_suites()
    assert len(suites) >= 20
    for s in suites:
        assert "expectation_suite_name" not in s  # GX 0.x layout
        for e in s["expectations"]:
            assert e["type"].startswith("expect_") and "expectation_type" not in e
            assert e["meta"]["check"]
    tables = {s["meta"].get("table") or s["meta"].get("target") for s in suites}
    for raw in (
        "contact_segments",
        "agent_states",
        "roster",
        "schedules",
        "customer_surveys",
        "stress_responses",
        "stress_answers",
        "survey_waves",
    ):
        assert f"raw.{raw}" in tables


def test_clean_warehouse_passes_every_blocking_check(instance):
    report = runner.run_suites(instance.warehouse, "clean", docs_dir=instance.dq_docs)
    assert report.blocking_failures == []
    # only marts the hand-made warehouse lacks may warn
    assert {r.check_name for r in report.warnings} == {"table_exists"}
    # DuckDB found no row GX could fail: GX was not needed, and no Data Docs were written
    assert report.data_docs is None and not (instance.dq_docs / "index.html").exists()
    assert all(r.unexpected_count == 0 for r in report.results if r.check_name != "table_exists")
    con = duckdb.connect(str(instance.warehouse))
    n = runner.write_results(con, report, checked_at=__import__("datetime").datetime(2026, 1, 1))
    assert con.execute("select count(*) from marts.dq_results where run_id = 'clean'").fetchone()[0] == n
    con.close()


@pytest.fixture
def faulty(instance):
    """One warehouse, several independent faults (one GX run keeps the test cheap)."""
    execute(
        instance.warehouse,
        """
        -- reconciliation: one interval offers a contact that has no outcome
        update marts.agg_queue_interval set offered = offered + 1
          where interval_start_utc = (select min(interval_start_utc) from marts.agg_queue_interval);
        -- a raw phone number reached a published text column
        create table marts.agg_dispositions as select '+86 138-0013-8000 called back' as disposition, 1 as n;
        -- a stress cell with 3 respondents is published (not suppressed)
        insert into marts.agg_stress_team values ('team_c', 3, false, 4.2);
        -- the last day's telephony feed arrived with a fraction of its rows (loaded in this run)
        delete from raw.contact_segments
          where cast(queue_entry_ts as date) = (select max(cast(queue_entry_ts as date)) from raw.contact_segments)
            and contact_id not like '%000';
        update raw.contact_segments set loaded_at = timestamp '2099-01-01'
          where cast(queue_entry_ts as date) = (select max(cast(queue_entry_ts as date)) from raw.contact_segments);
        -- the agent-state feed stopped three days before telephony
        delete from raw.agent_states where start_ts >= (select max(start_ts) - interval 3 day from raw.agent_states);
        -- a caller key that is not an HMAC (a number slipped through pseudonymisation)
        -- (raw rows are judged when loaded in this run: this one was)
        update raw.contact_segments set caller_key = '8613800138000', loaded_at = timestamp '2099-01-01'
          where contact_id = 'c000001';
        """,
    )
    return instance


def test_each_fault_is_caught_with_its_severity(faulty):
    report = runner.run_suites(
        faulty.warehouse, "faulty", docs_dir=faulty.dq_docs, since=__import__("datetime").datetime(2098, 1, 1)
    )
    failed = _failed(report)
    rec = failed["marts_agg_queue_interval.offered_equals_sum_of_outcomes"]
    assert rec.severity == "block" and rec.unexpected_count == 1
    pii = failed["published_pii_scan.no_phone_numbers_published"]
    assert pii.severity == "block"
    assert pii.failing_items == [
        {"table_name": "marts.agg_dispositions", "column_name": "disposition", "phone_like_values": "1"}
    ]
    stress = failed["stress_cells.published_cells_have_5_or_more"]
    assert stress.severity == "block" and stress.unexpected_count == 1
    vol = failed["volume_contact_segments.volume_vs_same_weekday"]
    assert vol.severity == "warn" and vol.alert_kind == "volume_anomaly"
    assert len(vol.failing_items) == 1 and float(vol.failing_items[0]["ratio_to_same_weekday"]) < 0.4
    stale = failed["source_freshness.not_behind_other_sources"]
    assert stale.severity == "warn" and stale.alert_kind == "stale_source"
    assert [i["source"] for i in stale.failing_items] == ["agent_states"]
    hmac = failed["raw_contact_segments.caller_key_is_hmac"]
    assert hmac.severity == "block" and hmac.unexpected_count == 1
    # nothing else blocks
    assert {f"{r.suite}.{r.check_name}" for r in report.blocking_failures} == {
        "marts_agg_queue_interval.offered_equals_sum_of_outcomes",
        "published_pii_scan.no_phone_numbers_published",
        "stress_cells.published_cells_have_5_or_more",
        "raw_contact_segments.caller_key_is_hmac",
    }
    # the failing suites were validated by GX, which wrote Data Docs
    assert report.data_docs == faulty.dq_docs / "index.html" and report.data_docs.exists()
    # the number never reaches Data Docs or the results table
    docs = "".join(p.read_text(errors="ignore") for p in Path(faulty.dq_docs).rglob("*.html"))
    assert "8613800138000" not in docs and "138-0013-8000" not in docs
    con = duckdb.connect(str(faulty.warehouse))
    runner.write_results(con, report, checked_at=__import__("datetime").datetime(2026, 1, 1))
    stored = json.dumps(con.execute("select * from marts.dq_results").fetchall(), default=str)
    con.close()
    assert "8613800138000" not in stored and "0013-8000" not in stored


def test_severity_comes_from_configuration(instance, tmp_path):
    execute(instance.warehouse, "update marts.agg_queue_interval set offered = offered + 1")
    config = yaml.safe_load(runner.CHECKS_CONFIG.read_text())
    config.setdefault("checks", {})["marts_agg_queue_interval.offered_equals_sum_of_outcomes"] = "warn"
    cfg = tmp_path / "checks.yaml"
    cfg.write_text(yaml.safe_dump(config))
    report = runner.run_suites(instance.warehouse, "cfg", config_path=cfg)
    failed = _failed(report)
    assert failed["marts_agg_queue_interval.offered_equals_sum_of_outcomes"].severity == "warn"
    # the daily roll-ups still reconcile with themselves, so nothing blocks
    assert report.blocking_failures == []


def test_phone_scan_frame_flags_numbers_not_ids_dates_or_hmac_keys(tmp_path):
    wh = tmp_path / "w.duckdb"
    execute(
        wh,
        """
        create schema marts;
        create table marts.t as select * from (values
          ('12345678-1234-4abc-8def-123456789012', 'a3f1' || repeat('9', 60), '2026-11-20 08:30:00', 'C1234567890'),
          ('1700000000.123', 'ok', 'call back 0044 20 7946 0958', 'x'),
          ('13800138000', null, 'ticket #12345', 'y')
        ) v(contact_id, caller_key, note, other);
        """,
    )
    params = runner.load_suites()
    pii = next(s for s in params if s["name"] == "published_pii_scan")["meta"]["params"]
    con = duckdb.connect(str(wh), read_only=True)
    frame = runner.published_pii_frame(con, pii, None).to_pandas()
    con.close()
    found = dict(zip(frame["column_name"], frame["phone_like_values"], strict=True))
    # a UUID, an Asterisk uniqueid, an HMAC key, a timestamp and a letter-prefixed id are not numbers;
    # a bare 11-digit id and a formatted London number are
    assert found == {"contact_id": 1, "caller_key": 0, "note": 1, "other": 0}


def _daily_agent_state_files(instance, last_file_rows: str) -> None:
    """Agent states as daily exports: file D holds 10 state rows on local day D (UTC+8) and 2 on
    the evening before; then `last_file_rows` adds what the data's end brings."""
    execute(
        instance.warehouse,
        f"""
        delete from raw.agent_states;
        insert into raw.agent_states
        select 'canonical', 'a01', 'available', null, ts, ts + interval 5 minute,
               'landing/agent_states/agent_states_' || strftime(file_day, '%Y-%m-%d') || '.csv', 2,
               timestamp '2099-01-01'
        from (
            select d as file_day, d + interval 2 hour + i * interval 20 minute as ts
            from range(date '{START}', date '{START + timedelta(days=21)}', interval 1 day) as r(d),
                 range(10) as s(i)
            union all
            select d, d - interval 9 hour + i * interval 30 minute
            from range(date '{START}', date '{START + timedelta(days=21)}', interval 1 day) as r(d),
                 range(2) as s(i)
        );
        {last_file_rows}
        """,
    )


def test_volume_does_not_judge_the_night_shift_tail_past_the_data_end(instance):
    last = START + timedelta(days=20)
    # night shifts that started on the last exported day end after local midnight: 1 row there,
    # in the last day's file (0.1 of a usual day)
    _daily_agent_state_files(
        instance,
        f"""
        insert into raw.agent_states values ('canonical', 'a01', 'logged_in', null,
          timestamp '{last} 16:30', timestamp '{last} 22:00',
          'landing/agent_states/agent_states_{last}.csv', 99, timestamp '2099-01-01');
        """,
    )
    params = next(s for s in runner.load_suites() if s["name"] == "volume_agent_states")["meta"]["params"]
    con = duckdb.connect(str(instance.warehouse), read_only=True)
    judged = runner.volume_frame(con, params, datetime(2098, 1, 1)).to_pylist()
    con.close()
    days = [r["day"] for r in judged]
    assert last + timedelta(days=1) not in days  # the tail day
    assert days[-1] == last and judged[-1]["row_count"] == 10  # the last exported day is judged
    report = runner.run_suites(instance.warehouse, "tail", since=datetime(2098, 1, 1), layers={"raw"})
    assert "volume_agent_states.volume_vs_same_weekday" not in _failed(report)


def test_volume_judges_a_short_last_day_its_own_file_delivered(instance):
    """The same single row, but in a file of its own: a feed that delivered a day with almost
    nothing (or a stopped feed's partial day) still warns."""
    last = START + timedelta(days=20)
    nxt = last + timedelta(days=1)
    _daily_agent_state_files(
        instance,
        f"""
        insert into raw.agent_states values ('canonical', 'a01', 'logged_in', null,
          timestamp '{last} 16:30', timestamp '{last} 22:00',
          'landing/agent_states/agent_states_{nxt}.csv', 2, timestamp '2099-01-01');
        """,
    )
    report = runner.run_suites(instance.warehouse, "short", since=datetime(2098, 1, 1), layers={"raw"})
    vol = _failed(report)["volume_agent_states.volume_vs_same_weekday"]
    assert vol.severity == "warn" and vol.unexpected_count == 1
    assert [i["day"] for i in vol.failing_items] == [str(nxt)]
