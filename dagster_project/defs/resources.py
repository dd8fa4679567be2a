"""All resources in one place. The instance (data dir) comes from CALLCENTER_DATA_DIR."""

from __future__ import annotations

import os
import shutil
from contextlib import AbstractContextManager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from callcenter.config import REPO_ROOT, Paths, data_paths

DBT_PROJECT_DIR = REPO_ROOT / "dbt"

# One writer at a time on warehouse.duckdb: every asset that writes it declares this pool, and
# dagster.yaml limits the pool to 1 (DuckDB allows one read-write process per file).
DUCKDB_WRITER_POOL = "duckdb_writer"


class CallcenterInstance(dg.ConfigurableResource):
    """The data dir of this instance (landing, warehouse, serving, alerts, secrets)."""

    data_dir: str = ""
    # how long a step waits for a `callcenter build` (or another run's step) holding the instance
    writer_wait_s: int = 3600

    def paths(self) -> Paths:
        return data_paths(self.data_dir or None).ensure()

    def writer_lock(self) -> AbstractContextManager[None]:
        """The instance's writer lock, the same one `callcenter build` holds: Dagster's pool only
        orders Dagster's own steps, while this also keeps a step from writing during a CLI build."""
        from callcenter.pipeline import instance_lock

        return instance_lock(self.paths(), wait_s=self.writer_wait_s)


def _dbt_executable() -> str:
    # dagster-dbt calls `dbt` by name; prefer the one beside this interpreter (the pipeline venv).
    import sys

    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "callcenter": CallcenterInstance(data_dir=os.environ.get("CALLCENTER_DATA_DIR", "")),
            "dbt": DbtCliResource(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=_dbt_executable(),
            ),
        }
    )
