"""The serving snapshot (what Superset reads), the pipeline job, its schedule and the alerts."""

import dagster as dg

from callcenter import pipeline
from callcenter.alerts import send_alert
from callcenter.config import data_paths
from dagster_project.defs.resources import DUCKDB_WRITER_POOL, CallcenterInstance
from dagster_project.defs.transform.dbt_models import mart_keys


@dg.asset(
    key=["serving", "serving_snapshot"],
    deps=list(mart_keys().values()),
    group_name="publish",
    pool=DUCKDB_WRITER_POOL,
    kinds={"duckdb"},
    description="marts schema copied into serving/serving.duckdb and swapped in atomically",
)
def serving_snapshot(
    context: dg.AssetExecutionContext, callcenter: CallcenterInstance
) -> dg.MaterializeResult:
    paths = callcenter.paths()
    # Blocking checks already keep this step from running; this guards the cases where Dagster's
    # blocking does not reach (checks deselected, a retry from failure, dagster#25112).
    if not pipeline.quality_results_recorded(paths, context.run_id):
        raise dg.Failure(
            "no data-quality results for this run: run the marts checks in the same run before publishing",
        )
    blocked = pipeline.blocking_failures_recorded(paths, context.run_id)
    if blocked:
        raise dg.Failure(
            f"{len(blocked)} blocking data-quality failure(s); serving snapshot unchanged",
            metadata={"failures": [f"{s}.{c} on {t}" for s, c, t in blocked[:20]]},
        )
    with callcenter.writer_lock():
        snap = pipeline.publish_step(paths, context.run_id)
    return dg.MaterializeResult(
        metadata={
            "snapshot_id": snap.snapshot_id,
            "path": dg.MetadataValue.path(str(snap.path)),
            "tables": len(snap.tables),
            "rows": sum(snap.tables.values()),
        }
    )


callcenter_pipeline = dg.define_asset_job(
    "callcenter_pipeline",
    selection=dg.AssetSelection.all(),
    description="ingest new landing files → dbt build → quality gates → publish serving",
)

daily_pipeline = dg.ScheduleDefinition(
    name="callcenter_daily",
    job=callcenter_pipeline,
    cron_schedule="0 6 * * *",
    execution_timezone="Asia/Shanghai",
)


@dg.run_failure_sensor(name="alert_on_run_failure", default_status=dg.DefaultSensorStatus.RUNNING)
def alert_on_run_failure(context: dg.RunFailureSensorContext):
    paths = data_paths()
    failed_steps = [e.step_key for e in context.get_step_failure_events()]
    send_alert(
        paths,
        "run_failed",
        f"Dagster run {context.dagster_run.run_id[:8]} of {context.dagster_run.job_name} failed; "
        "serving snapshot unchanged",
        {
            "dagster_run_id": context.dagster_run.run_id,
            "job": context.dagster_run.job_name,
            "failed_steps": failed_steps,
            "error": (context.failure_event.message or "")[:500],
            "data_docs": str(paths.dq_docs / "index.html"),
        },
    )
