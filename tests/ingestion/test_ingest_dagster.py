"""Dagster: raw assets materialize with row metadata, re-runs are no-ops, per-day reload, landing sensor."""

from __future__ import annotations

import json
import os
import shutil
import time

import dagster as dg
from ingest_helpers import FIXTURES, query

from dagster_project.defs.ingestion.raw_sources import (
    RAW_TABLES,
    landing_files_sensor,
    raw_landing,
)
from dagster_project.defs.resources import CallcenterInstance


def _landing(data_dir):
    for sub, names in {
        "asterisk": ["queue_log-20260302", "queue_log-20260303", "Master.csv"],
        "contact_segments": ["contact_segments_2026-03-02.csv"],
        "roster": ["roster_2026-03-01.csv"],
    }.items():
        folder = data_dir / "landing" / sub
        folder.mkdir(parents=True, exist_ok=True)
        for n in names:
            src = next(FIXTURES.rglob(n))
            shutil.copy(src, folder / n)
            old = time.time() - 60  # settled uploads
            os.utime(folder / n, (old, old))


def _materialize(data_dir, config=None):
    return dg.materialize(
        [raw_landing],
        resources={"callcenter": CallcenterInstance(data_dir=str(data_dir))},
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"raw_landing": {"config": config or {}}}},
    )


def _meta(result, table):
    mats = result.asset_materializations_for_node("raw_landing")
    m = next(x for x in mats if x.asset_key == dg.AssetKey(["raw", table]))
    return {k: v.value for k, v in m.metadata.items()}


def test_raw_assets_materialize_with_row_metadata_and_rerun_is_noop(data_dir):
    _landing(data_dir)
    result = _materialize(data_dir)
    assert result.success
    keys = {m.asset_key for m in result.asset_materializations_for_node("raw_landing")}
    assert keys == {dg.AssetKey(["raw", t]) for t in RAW_TABLES}
    seg = _meta(result, "contact_segments")
    # canonical file (8 rows: 4 loaded, 4 quarantined) + 2 queue_logs; Master.csv writes no segments
    assert seg["files"] == 3 and seg["rows_written"] == 4 + 6 + 1
    manifest = _meta(result, "file_manifest")
    assert manifest["files"] == 5
    assert (
        manifest["rows_read"]
        == manifest["rows_loaded"] + manifest["rows_quarantined"] + manifest["rows_duplicate"]
    )
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    before = query(warehouse, "select count(*) from raw.contact_segments")
    again = _materialize(data_dir)
    assert again.success and _meta(again, "file_manifest")["files_already_loaded"] == 5
    assert _meta(again, "contact_segments")["rows_written"] == 0
    assert query(warehouse, "select count(*) from raw.contact_segments") == before


def test_per_day_reload_reingests_only_that_day(data_dir):
    _landing(data_dir)
    assert _materialize(data_dir).success
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    before = query(
        warehouse,
        "select source_system, contact_id, segment_seq, outcome from raw.contact_segments order by all",
    )
    loaded_before = dict(query(warehouse, "select file_path, started_at from raw.file_manifest"))
    result = _materialize(data_dir, {"day": "2026-03-02", "reload": True})
    assert result.success
    after = dict(query(warehouse, "select file_path, started_at from raw.file_manifest"))
    reloaded = {f for f in after if after[f] != loaded_before[f]}
    assert reloaded == {
        "landing/asterisk/queue_log-20260302",
        "landing/contact_segments/contact_segments_2026-03-02.csv",
    }
    assert (
        query(
            warehouse,
            "select source_system, contact_id, segment_seq, outcome from raw.contact_segments order by all",
        )
        == before
    )


def test_landing_sensor_requests_a_run_for_new_files_only(data_dir, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(data_dir))
    _landing(data_dir)
    ctx = dg.build_sensor_context(cursor=None)
    first = landing_files_sensor(ctx)
    assert isinstance(first, dg.RunRequest)
    seen = json.loads(ctx.cursor)
    assert "landing/asterisk/queue_log-20260302" in seen and len(seen) == 5
    ctx2 = dg.build_sensor_context(cursor=ctx.cursor)
    assert isinstance(landing_files_sensor(ctx2), dg.SkipReason)
    extra = data_dir / "landing" / "roster" / "roster_2026-03-08.csv"
    shutil.copy(FIXTURES / "mapped" / "roster_2026-03-01.csv", extra)
    ctx3 = dg.build_sensor_context(cursor=ctx.cursor)
    assert isinstance(landing_files_sensor(ctx3), dg.SkipReason)  # still being written (just modified)
    old = time.time() - 60
    os.utime(extra, (old, old))
    req = landing_files_sensor(dg.build_sensor_context(cursor=ctx.cursor))
    assert isinstance(req, dg.RunRequest) and req.tags["callcenter/new_landing_files"] == "1"
