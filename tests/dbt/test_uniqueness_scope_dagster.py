"""Dagster's dbt asset uses the same uniqueness scope as `callcenter build` (callcenter/pipeline.py,
UniquenessScope): a whole materialization that passes becomes the verified build, the next one
checks only keys loaded since, and a duplicate loaded since is still found."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import pytest

from callcenter.config import data_paths
from callcenter.pipeline import UNIQUENESS_STATE_FILE

from .raw_contract import ensure_raw_tables, insert_rows
from .test_uniqueness_scope import _first_load, _loaded, _second_load


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


SCOPED_TEST = "unique_combination_of_columns_stg_telephony__contact_segments_"


def _materialize():
    from dagster_project.defs.resources import resources
    from dagster_project.defs.transform.dbt_models import callcenter_dbt_models

    return dg.materialize(  # resources() reads the instance from CALLCENTER_DATA_DIR
        [callcenter_dbt_models],
        resources=resources().resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _stg_test(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    """(status, compiled SQL) of staging's segment-key test in this materialization's dbt run."""
    from dagster_project.defs.transform.dbt_models import dbt_project

    # dagster-dbt gives each invocation its own target folder, named after the run id
    (target,) = (dbt_project.project_dir / dbt_project.target_path).glob(
        f"callcenter_dbt_models-{result.run_id[:7]}-*"
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    r = next(r for r in results if SCOPED_TEST in r["unique_id"])
    return r["status"], r.get("compiled_code") or ""


@pytest.mark.slow
def test_dagster_builds_verify_scope_and_still_find_a_new_duplicate(tmp_path, monkeypatch) -> None:
    data_dir = tmp_path / "instance"
    paths = data_paths(data_dir).ensure()
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(data_dir))
    ensure_raw_tables(paths.warehouse)
    insert_rows(paths.warehouse, "contact_segments", _first_load())

    first = _materialize()
    assert first.success
    state = json.loads((paths.run / UNIQUENESS_STATE_FILE).read_text())
    status, sql = _stg_test(first)
    assert status == "pass" and "changed_keys" not in sql  # the first build checks every key

    insert_rows(paths.warehouse, "contact_segments", [_loaded(r, _now()) for r in _second_load()])
    second = _materialize()
    assert second.success
    status, sql = _stg_test(second)
    assert status == "pass" and f"'{state['build_started']}'" in sql  # scoped to the verified start
    verified = json.loads((paths.run / UNIQUENESS_STATE_FILE).read_text())["build_started"]
    assert verified > state["build_started"]

    # segment c1/1 delivered again past ingestion's dedupe: the run fails, the start stays
    insert_rows(paths.warehouse, "contact_segments", [_loaded(_first_load()[0], _now())])
    third = _materialize()
    assert not third.success
    assert _stg_test(third)[0] == "fail"
    assert json.loads((paths.run / UNIQUENESS_STATE_FILE).read_text())["build_started"] == verified
