"""Raw sources as assets: landing files → the raw layer, via the `ingestion` library (thin wrapper).

- One asset per raw table, keyed ["raw", <table>] — the key dagster-dbt gives `source('raw', <table>)`,
  so lineage runs from landing to dashboards. They are materialized together by one multi-asset
  (one pass over the landing folders, one DuckDB writer: pool DUCKDB_WRITER_POOL); selecting a
  subset only reads the landing folders that feed it.
- `landing_files_sensor`: watches <data-dir>/landing/*; a file new or changed since the last tick
  (cursor = {path: size:mtime} of files already seen) requests a refresh of raw and everything
  downstream. Files modified in the last few seconds wait for the next tick (uploads in flight).
- `raw_ingest_daily`: a daily ingest, a safety net if the sensor is off.
- Per-day backfill: launch `raw_ingest` with config `day: 2026-03-02` (files whose name carries that
  date, YYYY-MM-DD or YYYYMMDD) and `reload: true` to drop what those files loaded and load them
  again (after a reader fix). Without `reload` a backfill only loads the day's files that are not
  in the manifest yet — re-running is always a no-op.
- Rejected files do not fail the run (one broken export must not stop the daily publish); each one
  raises a `file_rejected` alert and is listed in the metadata. Failed runs are alerted by the
  run-failure sensor in defs/publish (webhook + <data-dir>/alerts/alerts.log).
"""

import hashlib
import json
import re
import time
from pathlib import Path

import dagster as dg

from callcenter.alerts import send_alert
from callcenter.config import data_paths, hmac_key
from dagster_project.defs.resources import DUCKDB_WRITER_POOL, CallcenterInstance
from ingestion import LANDING_SOURCES, FileResult, ingest_paths, landing_files
from ingestion.loader import forget_files

RAW_TABLES = {
    "contact_segments": "One queue stint or agent leg per row (canonical, Asterisk, Amazon Connect).",
    "agent_states": "One agent state interval per row (canonical, Asterisk queue_log).",
    "roster": "One agent per roster export (as_of_date).",
    "schedules": "One scheduled activity per row (UTC).",
    "customer_surveys": "One post-contact survey response per contact.",
    "stress_responses": "One anonymous stress-survey response.",
    "stress_answers": "One item answer of a stress-survey response (long format).",
    "survey_waves": "Questionnaires distributed per wave and project group.",
    "file_manifest": "One row per landing file loaded, with row accounting (sha256).",
    "quarantine": "Rows rejected at ingestion, with a reason.",
}
# Which landing folders write which raw table (file_manifest and quarantine: all of them).
FEEDS = {
    "contact_segments": ["contact_segments", "asterisk", "amazon_connect"],
    "agent_states": ["agent_states", "asterisk"],
    "roster": ["roster"],
    "schedules": ["schedules"],
    "customer_surveys": ["customer_surveys"],
    "stress_responses": ["stress_survey"],
    "stress_answers": ["stress_survey"],
    "survey_waves": ["survey_waves"],
    "file_manifest": LANDING_SOURCES,
    "quarantine": LANDING_SOURCES,
}
SETTLE_SECONDS = 5  # a file modified more recently than this may still be uploading


class IngestConfig(dg.Config):
    day: str = ""  # YYYY-MM-DD: only files whose name carries this date (per-day backfill)
    reload: bool = False  # with `day`: drop what those files loaded, then load them again


def _day_pattern(day: str) -> re.Pattern:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        raise dg.Failure(f"day must be YYYY-MM-DD, not {day!r}")
    return re.compile(f"{day}|{day.replace('-', '')}")


def _table_metadata(table: str, results: list[FileResult]) -> dict:
    every_file = table in ("file_manifest", "quarantine")
    mine = [r for r in results if r.status == "loaded" and (every_file or table in r.tables)]
    rejected = [r.message for r in results if r.status == "rejected"]
    return {
        "files": dg.MetadataValue.int(len(mine)),
        "rows_read": dg.MetadataValue.int(sum(r.rows_read for r in mine)),
        "rows_loaded": dg.MetadataValue.int(sum(r.rows_loaded for r in mine)),
        "rows_quarantined": dg.MetadataValue.int(sum(r.rows_quarantined for r in mine)),
        "rows_duplicate": dg.MetadataValue.int(sum(r.rows_duplicate for r in mine)),
        "rows_written": dg.MetadataValue.int(sum(r.tables.get(table, 0) for r in mine)),
        "files_already_loaded": dg.MetadataValue.int(sum(r.status == "already_loaded" for r in results)),
        "files_rejected": dg.MetadataValue.json(rejected[:50]),
    }


@dg.multi_asset(
    name="raw_landing",
    specs=[
        dg.AssetSpec(["raw", t], description=d, group_name="ingestion", kinds={"duckdb", "python"})
        for t, d in RAW_TABLES.items()
    ],
    can_subset=True,
    pool=DUCKDB_WRITER_POOL,
)
def raw_landing(context: dg.AssetExecutionContext, config: IngestConfig, callcenter: CallcenterInstance):
    with callcenter.writer_lock():
        paths = callcenter.paths()
        selected = [k.path[-1] for k in context.selected_asset_keys]
        sources = sorted({s for t in selected for s in FEEDS[t]}, key=LANDING_SOURCES.index)
        files = landing_files(paths.landing, sources)
        if config.day:
            pattern = _day_pattern(config.day)
            files = [f for f in files if pattern.search(f.name)]
            context.log.info(f"backfill {config.day}: {len(files)} landing files")
            if config.reload:
                rel = [f.resolve().relative_to(paths.root.resolve()).as_posix() for f in files]
                removed = forget_files(paths.warehouse, rel)
                context.log.info(f"reload: forgot {removed} loaded files of {config.day}")
        elif config.reload:
            raise dg.Failure("reload needs a day (reloading everything is a rebuild: delete the warehouse)")
        key = hmac_key(paths)
        t0 = time.monotonic()
        results = ingest_paths(paths.warehouse, files, key, relative_to=paths.root) if files else []
        if not files:
            from ingestion import ensure_raw_schema

            ensure_raw_schema(paths.warehouse)
        elapsed = time.monotonic() - t0
        for r in results:
            if r.status == "rejected":
                context.log.error(f"rejected {r.message}")
                send_alert(
                    paths,
                    "file_rejected",
                    f"landing file rejected: {r.path.name}",
                    {"file": str(r.path), "error": r.message, "dagster_run_id": context.run_id},
                )
        loaded = [r for r in results if r.status == "loaded"]
        context.log.info(
            f"{len(results)} files: {len(loaded)} loaded, "
            f"{sum(r.status == 'already_loaded' for r in results)} already loaded, "
            f"{sum(r.status == 'rejected' for r in results)} rejected; "
            f"{sum(r.rows_read for r in loaded):,} rows in {elapsed:.1f} s"
        )
        for table in selected:
            yield dg.MaterializeResult(asset_key=["raw", table], metadata=_table_metadata(table, results))


raw_ingest = dg.define_asset_job(
    "raw_ingest",
    selection=dg.AssetSelection.groups("ingestion"),
    description="load new landing files into the raw layer (config `day` / `reload` for a per-day backfill)",
)

# New files refresh raw and everything built from it (dbt, checks, publish).
landing_refresh = dg.define_asset_job(
    "landing_refresh",
    selection=dg.AssetSelection.groups("ingestion").downstream(),
    description="new landing files → raw → dbt → quality gates → serving",
)

raw_ingest_daily = dg.ScheduleDefinition(
    name="raw_ingest_daily",
    job=raw_ingest,
    cron_schedule="30 5 * * *",
    execution_timezone="Asia/Shanghai",
)


def _signatures(landing: Path, root: Path, now: float) -> tuple[dict[str, str], int]:
    sigs, settling = {}, 0
    for f in landing_files(landing):
        st = f.stat()
        if now - st.st_mtime < SETTLE_SECONDS:
            settling += 1
            continue
        sigs[f.relative_to(root).as_posix()] = f"{st.st_size}:{int(st.st_mtime)}"
    return sigs, settling


@dg.sensor(
    name="landing_files_sensor",
    job=landing_refresh,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="a new or changed file in <data-dir>/landing/* requests a refresh",
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    paths = data_paths()
    if not paths.landing.is_dir():
        return dg.SkipReason(f"no landing folder at {paths.landing}")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    current, settling = _signatures(paths.landing, paths.root, time.time())
    new = {p: s for p, s in current.items() if seen.get(p) != s}
    if not new:
        return dg.SkipReason(f"no new landing files ({settling} still being written)")
    context.update_cursor(json.dumps({**seen, **new}, sort_keys=True))
    run_key = hashlib.sha256(json.dumps(new, sort_keys=True).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"landing-{run_key}",
        tags={"callcenter/new_landing_files": str(len(new))},
    )
