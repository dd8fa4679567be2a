"""End to end with the simulator: dirty feeds lose and double nothing; three renderings of the same
calls ingest to the same contacts; re-running is a no-op.

The manifest follows this project's rules (DECISIONLOG.md, Ingestion): an Excel-mangled caller
number quarantines its row, and a file whose last line is cut off is rejected whole.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

import duckdb
import pytest
from ingest_helpers import KEY, assert_accounting, query, snapshot

from ingestion import ingest_landing
from simulator import simulate

SEGMENT_KEYS = "select contact_id, segment_seq from raw.contact_segments"


def _expected_per_file(manifest: dict) -> dict[str, dict]:
    return {f: dict(v) for f, v in manifest["files"].items()}


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    root = tmp_path_factory.mktemp("dirty")
    simulate(root, days=3, scale=0.05, seed=7, dirty=True, progress=False)
    warehouse = root / "warehouse" / "warehouse.duckdb"
    results = ingest_landing(warehouse, root / "landing", KEY)
    return root, warehouse, results


def test_dirty_feeds_load_with_nothing_lost_and_nothing_doubled(dirty):
    root, warehouse, results = dirty
    assert_accounting(results)
    manifest = json.loads((root / "truth" / "fault_manifest.json").read_text())
    expected = _expected_per_file(manifest)
    by_file = {r.path.relative_to(root).as_posix(): r for r in results}
    for f, exp in expected.items():
        r = by_file[f]
        if exp.get("status") == "rejected":
            assert r.status == "rejected" and "\n" not in r.message, r
            assert not query(warehouse, "select 1 from raw.contact_segments where source_file = ?", [f])
            continue
        got = (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate)
        assert got == (exp["data_rows"], exp["loaded"], exp["quarantined"], exp["duplicate"]), f
    for f, r in by_file.items():  # untouched files load clean
        if f not in expected:
            assert r.status == "loaded" and r.rows_quarantined == 0 and r.rows_duplicate == 0, r
    # every quarantine fault landed on the line the simulator damaged
    quarantined = set(query(warehouse, "select source_file, source_line from raw.quarantine"))
    for fault in manifest["faults"]:
        if (
            fault["expected"]["effect"] == "quarantine"
            and expected[fault["file"]].get("status") != "rejected"
        ):
            assert {(fault["file"], line) for line in fault["lines"]} <= quarantined, fault["kind"]
    # the schedule re-export replaced exactly the breaks it moved, on the agent-days it lists
    (reexport,) = [f for f in manifest["faults"] if f["kind"] == "schedule_reexport"]
    replaced = query(
        warehouse,
        "select agent_id, schedule_date::varchar, activity, replaced_by from raw.schedules_replaced order by 1, 2",
    )
    assert len(replaced) == reexport["expected"]["replaced"] > 0
    assert {(a, d) for a, d, _, _ in replaced} == {tuple(k) for k in reexport["agent_days"]}
    assert {(act, by) for _, _, act, by in replaced} == {("break", reexport["file"])}
    # nothing doubled, nothing invented; every missing truth segment is explained
    loaded = query(warehouse, SEGMENT_KEYS)
    assert len(loaded) == len(set(loaded))
    truth = set(
        duckdb.sql(
            f"select contact_id, segment_seq from read_parquet('{root}/truth/segments/*.parquet')"
        ).fetchall()
    )
    assert set(loaded) <= truth
    explained = {tuple(k) for fault in manifest["faults"] for k in fault.get("record_keys", [])
                 if fault["kind"] in ("negative_duration", "unknown_outcome", "excel_mangled_phone", "truncated_mid_line")}  # fmt: skip
    for f, exp in expected.items():
        if exp.get("status") == "rejected" and f.endswith(".csv"):
            rows = csv.DictReader((root / f).read_text(encoding="utf-8").splitlines()[:-1])
            explained |= {
                (r["contact_id"], int(r["segment_seq"])) for r in rows if r.get("segment_seq", "").isdigit()
            }
    assert truth - set(loaded) <= explained


def test_rerunning_is_a_noop(dirty):
    root, warehouse, _ = dirty
    before = snapshot(warehouse)
    again = ingest_landing(warehouse, root / "landing", KEY)
    assert {r.status for r in again} <= {"already_loaded", "rejected"}
    assert sum(r.rows_loaded for r in again) == 0
    assert snapshot(warehouse) == before


@pytest.fixture(scope="module")
def renderings(tmp_path_factory):
    out = {}
    for telephony in ("canonical", "asterisk", "amazon-connect"):
        root = tmp_path_factory.mktemp(telephony)
        simulate(root, days=2, scale=0.05, seed=11, telephony=telephony, progress=False)
        warehouse = root / "warehouse" / "warehouse.duckdb"
        results = ingest_landing(warehouse, root / "landing", KEY)
        assert all(r.status == "loaded" and r.rows_quarantined == 0 for r in results), results
        out[telephony] = warehouse
    return out


def _profile(warehouse):
    rows = query(
        warehouse,
        """select outcome, queue_code, wait_s, agent_id, caller_key
           from raw.contact_segments""",
    )
    return {
        "segments": len(rows),
        "outcomes": Counter(r[0] for r in rows),
        "per_queue": Counter(r[1] for r in rows),
        "wait_s": sum(r[2] or 0 for r in rows),
        "segments_per_agent": Counter(r[3] for r in rows if r[3]),
        "callers": len({r[4] for r in rows if r[4]}),
        "withheld": sum(r[4] is None for r in rows),
    }


def test_three_renderings_ingest_to_the_same_segments(renderings):
    canonical = _profile(renderings["canonical"])
    assert canonical["segments"] > 50 and canonical["outcomes"]["answered"] > 0
    assert _profile(renderings["amazon-connect"]) == canonical
    assert _profile(renderings["asterisk"]) == canonical
    # what each format carries differently (docs/data-contracts.md): Asterisk has no hold and no
    # ACW, and its calltime includes hold; Connect and canonical carry both.
    talk = {
        t: query(w, "select sum(talk_s), sum(hold_s), sum(acw_s) from raw.contact_segments")[0]
        for t, w in renderings.items()
    }
    assert talk["amazon-connect"] == talk["canonical"]
    assert talk["asterisk"][1] is None and talk["asterisk"][2] is None
    assert talk["asterisk"][0] == talk["canonical"][0] + talk["canonical"][1]


def test_three_renderings_count_the_same_contacts(renderings):
    contacts = {
        t: query(w, "select count(distinct contact_id) from raw.contact_segments")[0][0]
        for t, w in renderings.items()
    }
    assert contacts["amazon-connect"] == contacts["canonical"]
    if contacts["asterisk"] != contacts["canonical"]:
        pytest.xfail(
            "simulator renders a transferred leg whose transfer falls in the same chunk with a new "
            "Asterisk uniqueid (simulator/core.py _first_entries fills its memory after using it), "
            "so queue_log shows two calls; reported to the simulator owner"
        )


@pytest.mark.parametrize("telephony", ["asterisk", "amazon-connect"])
def test_dirty_pbx_feeds_quarantine_the_damaged_lines(tmp_path, telephony):
    simulate(tmp_path, days=2, scale=0.05, seed=3, telephony=telephony, dirty=True, progress=False)
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    results = ingest_landing(warehouse, tmp_path / "landing", KEY)
    assert_accounting(results)
    manifest = json.loads((tmp_path / "truth" / "fault_manifest.json").read_text())
    by_file = {r.path.relative_to(tmp_path).as_posix(): r for r in results}
    quarantined = set(query(warehouse, "select source_file, source_line from raw.quarantine"))
    reasons = {r for (r,) in query(warehouse, "select reason from raw.quarantine")}
    for fault in manifest["faults"]:
        if fault["kind"] == "malformed_line":
            assert {(fault["file"], line) for line in fault["lines"]} == {
                q for q in quarantined if q[0] == fault["file"]
            }
        if fault["kind"] == "truncated_mid_line":
            r = by_file[fault["file"]]
            assert r.status == "rejected" and f"line {fault['lines'][0]}" in r.message
    assert all(x.startswith("malformed") for x in reasons), reasons


def test_queue_log_agent_states_match_the_wfm_export(renderings):
    """The Asterisk rendering carries agent states twice: AGENTLOGIN/PAUSE/… events in queue_log and
    the canonical agent_states export. The states derived from queue_log must agree with it."""
    hours = dict(
        ((s, st), h)
        for s, st, h in query(
            renderings["asterisk"],
            """select source_system, state, sum(epoch(end_ts) - epoch(start_ts)) / 3600
               from raw.agent_states where end_ts is not null group by all""",
        )
    )
    assert hours[("asterisk", "logged_in")] == pytest.approx(hours[("canonical", "logged_in")], rel=0.001)
    assert hours[("asterisk", "on_contact")] == pytest.approx(hours[("canonical", "on_contact")], rel=0.01)
    assert hours[("asterisk", "not_ready")] == pytest.approx(hours[("canonical", "not_ready")], rel=0.05)
    assert ("asterisk", "acw") not in hours  # queue_log has no after-call work
