"""GX suites as Dagster asset checks; block vs warn comes from expectations/checks.yaml.

Two check steps, so the write → audit → publish order holds inside Dagster too:
- ``raw_quality`` checks the raw sources after ingestion; a blocking failure there stops dbt;
- ``marts_quality`` checks every mart after dbt (suite per mart, no phone number in any text
  column, stress cells n >= 5); a blocking failure stops ``serving_snapshot``, and the run fails.
Both append their results to marts.dq_results and send the alerts (same code as `callcenter build`).
"""

from collections import defaultdict
from datetime import UTC, datetime

import dagster as dg

from callcenter.pipeline import quality_step
from dagster_project.defs.resources import DUCKDB_WRITER_POOL, CallcenterInstance
from dagster_project.defs.transform.dbt_models import mart_keys, source_keys
from expectations.runner import BLOCK, load_config, load_suites, severity_for

SUITES = load_suites()
MARTS = mart_keys()
SOURCES = source_keys()
PII_CHECK = "no_phone_numbers"
STRESS_CHECK = "stress_cells_n_ge_5"


def _suite_table(spec: dict) -> str | None:
    meta = spec.get("meta") or {}
    if meta.get("frame") == "freshness":
        return "raw.contact_segments"
    return meta.get("table") or (meta.get("params") or {}).get("table") or meta.get("target")


def _key_for(table: str | None) -> dg.AssetKey | None:
    if not table or "." not in table:
        return None
    schema, name = table.split(".", 1)
    return (SOURCES if schema == "raw" else MARTS if schema == "marts" else {}).get(name)


def _blocking(spec: dict) -> bool:
    config = load_config()
    return any(severity_for(config, spec["name"], e["meta"]["check"]) == BLOCK for e in spec["expectations"])


def _suite_specs(layer: str) -> tuple[list[dg.AssetCheckSpec], dict[dg.AssetCheckKey, str]]:
    specs, by_check = [], {}
    for spec in SUITES:
        if (spec.get("meta") or {}).get("layer") != layer:
            continue
        key = _key_for(_suite_table(spec))
        if key is None:
            continue
        cs = dg.AssetCheckSpec(
            f"gx_{spec['name']}", asset=key, blocking=_blocking(spec), description=spec.get("notes")
        )
        specs.append(cs)
        by_check[cs.key] = spec["name"]
    return specs, by_check


RAW_SPECS, RAW_SUITE_OF = _suite_specs("raw")
MART_SUITE_SPECS, MART_SUITE_OF = _suite_specs("marts")
PII_SPECS = [
    dg.AssetCheckSpec(
        PII_CHECK, asset=k, blocking=True, description="no phone-number-like value in any text column"
    )
    for k in MARTS.values()
]
STRESS_SPECS = [
    dg.AssetCheckSpec(STRESS_CHECK, asset=k, blocking=True, description="every published cell has n >= 5")
    for name, k in MARTS.items()
    if name.startswith("agg_stress")
]


def _run_start(context) -> datetime | None:
    record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is None or record.start_time is None:
        return None
    return datetime.fromtimestamp(record.start_time, UTC).replace(tzinfo=None)


def _suite_result(check_key: dg.AssetCheckKey, results: list, docs: str) -> dg.AssetCheckResult:
    failed = [r for r in results if not r.success]
    blocking = [r for r in failed if r.severity == BLOCK]
    return dg.AssetCheckResult(
        asset_key=check_key.asset_key,
        check_name=check_key.name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata={
            "checks": len(results),
            "failed": [f"{r.check_name} ({r.severity})" for r in failed],
            "unexpected_rows": sum(r.unexpected_count or 0 for r in failed),
            "data_docs": dg.MetadataValue.path(docs),
        },
    )


def _by_table(result, column: str = "table_name") -> dict[str, list[dict]]:
    out = defaultdict(list)
    for item in result.failing_items if result else []:
        out[item.get(column)].append(item)
    return out


def _emit(context, report, suite_of: dict) -> list[dg.AssetCheckResult]:
    docs = str(report.data_docs or "")
    by_suite = defaultdict(list)
    for r in report.results:
        by_suite[r.suite].append(r)
    out = []
    pii = next((r for r in report.results if r.suite == "published_pii_scan" and not r.success), None)
    stress = [r for r in report.results if r.suite == "stress_cells" and not r.success]
    pii_tables, stress_tables = _by_table(pii), defaultdict(list)
    for r in stress:
        for item in r.failing_items:
            stress_tables[item.get("table_name")].append(item)
    unattributed_stress = [r for r in stress if not r.failing_items]
    for check_key in context.selected_asset_check_keys:
        table = f"marts.{check_key.asset_key.path[-1]}"
        if check_key.name == PII_CHECK:
            items = pii_tables.get(table, [])
            out.append(
                dg.AssetCheckResult(
                    asset_key=check_key.asset_key,
                    check_name=PII_CHECK,
                    passed=not items,
                    metadata={"phone_like_columns": [i["column_name"] for i in items]},
                )
            )
        elif check_key.name == STRESS_CHECK:
            items = stress_tables.get(table, [])
            out.append(
                dg.AssetCheckResult(
                    asset_key=check_key.asset_key,
                    check_name=STRESS_CHECK,
                    passed=not items and not unattributed_stress,
                    metadata={"cells_below_5": len(items)},
                )
            )
        else:
            out.append(_suite_result(check_key, by_suite.get(suite_of[check_key], []), docs))
    return out


@dg.multi_asset_check(specs=RAW_SPECS, can_subset=True, pool=DUCKDB_WRITER_POOL, name="raw_quality")
def raw_quality(context: dg.AssetCheckExecutionContext, callcenter: CallcenterInstance):
    paths = callcenter.paths()
    with callcenter.writer_lock():
        report = quality_step(
            paths, context.run.run_id, since=_run_start(context), dagster_run_id=context.run.run_id,
            layers={"raw"}, docs_dir=paths.dq_docs / "raw", echo=context.log.info,
        )  # fmt: skip
    yield from _emit(context, report, RAW_SUITE_OF)


@dg.multi_asset_check(
    specs=MART_SUITE_SPECS + PII_SPECS + STRESS_SPECS,
    can_subset=True,
    pool=DUCKDB_WRITER_POOL,
    name="marts_quality",
)
def marts_quality(context: dg.AssetCheckExecutionContext, callcenter: CallcenterInstance):
    paths = callcenter.paths()
    # since=None: a Dagster run can rebuild marts without loading raw rows (a changed model, a
    # backfill), so every row is judged; the runner's pushdown keeps memory bounded.
    with callcenter.writer_lock():
        report = quality_step(
            paths, context.run.run_id, since=None, dagster_run_id=context.run.run_id,
            layers={"marts"}, docs_dir=paths.dq_docs, echo=context.log.info,
        )  # fmt: skip
    yield from _emit(context, report, MART_SUITE_OF)
