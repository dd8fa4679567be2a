"""Every dbt model, seed and snapshot as a Dagster asset; dbt tests as asset checks.

The manifest comes from `dbt parse`: `dagster dev` refreshes it (prepare_if_dev); anywhere else
(definitions validate, tests, a fresh checkout) it is parsed once when missing.
"""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from callcenter.config import DATA_DIR_ENV
from callcenter.pipeline import PRODUCTION_DBT_BUILD_ARGS, UNIQUENESS_SINCE_ENV, UniquenessScope, dbt_nodes
from dagster_project.defs.resources import DBT_PROJECT_DIR, DUCKDB_WRITER_POOL, CallcenterInstance

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


def _ensure_manifest(project: DbtProject) -> Path:
    if not project.manifest_path.exists():
        dbt = Path(sys.executable).parent / "dbt"
        subprocess.run(
            [str(dbt if dbt.exists() else "dbt"), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(project.target_path)],
            cwd=DBT_PROJECT_DIR, check=True,
        )  # fmt: skip
    return project.manifest_path


class LayerTranslator(DagsterDbtTranslator):
    """Groups each dbt node by the warehouse layer (schema) it builds into, so the lineage reads
    ingestion -> staging -> intermediate -> marts -> publish instead of one 'default' group."""

    def get_group_name(self, dbt_resource_props):
        return dbt_resource_props.get("schema") or super().get_group_name(dbt_resource_props)


# dbt tests with severity error fail the dbt step (so the run fails); they also show as checks.
translator = LayerTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=_ensure_manifest(dbt_project),
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=DUCKDB_WRITER_POOL,
)
def callcenter_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, callcenter: CallcenterInstance
):
    paths = callcenter.paths()
    os.environ[DATA_DIR_ENV] = str(paths.root)  # dbt's profile reads the warehouse path from it
    # Every model and test selected: the build can become the verified one, as a `callcenter
    # build` can (DECISIONLOG "Uniqueness tests check what changed"); a subset only uses the scope.
    whole = set(context.selected_asset_keys) == set(callcenter_dbt_models.keys) and set(
        context.selected_asset_check_keys
    ) == set(callcenter_dbt_models.check_keys)
    with callcenter.writer_lock():
        scope = UniquenessScope.open(paths, full_refresh=False)
        scope.apply(os.environ)
        try:
            invocation = dbt.cli(["build", *PRODUCTION_DBT_BUILD_ARGS], context=context)
            yield from invocation.stream()  # raises when dbt failed: nothing is recorded then
        finally:
            os.environ.pop(UNIQUENESS_SINCE_ENV, None)
        if scope.since:
            context.log.info(f"uniqueness tests checked keys loaded since {scope.since}")
        if whole and scope.record_if_verified(paths, dbt_nodes(invocation.get_artifact("run_results.json"))):
            context.log.info("verified build: the next checks keys loaded from its start on")


def mart_keys() -> dict[str, dg.AssetKey]:
    """Table name -> asset key of every dbt model built into the `marts` schema."""
    manifest = dbt_project.manifest_path.read_text()
    import json

    nodes = json.loads(manifest)["nodes"]
    marts = {
        n["name"]
        for n in nodes.values()
        if n["resource_type"] in ("model", "snapshot") and n.get("schema") == "marts"
    }
    return {k.path[-1]: k for k in callcenter_dbt_models.keys if k.path[-1] in marts}


def source_keys() -> dict[str, dg.AssetKey]:
    """Raw table name -> asset key of the dbt sources (written by ingestion)."""
    return {k.path[-1]: k for k in callcenter_dbt_models.dependency_keys if k.path[:1] == ["raw"]}
