"""Dagster: a failed blocking GX check fails the run (not "success with skipped steps"),
the serving snapshot is not replaced, and the alert names the Dagster run."""

from __future__ import annotations

import dagster as dg
import pytest
from warehouse_factory import execute

from callcenter import publish
from callcenter.alerts import read_alerts

SERVING = dg.AssetKey(["serving", "serving_snapshot"])


def _gate_job(name: str):
    """The marts checks + publish of the real definitions (dbt itself is replaced by a hand-made
    warehouse in these tests; the end-to-end tests run the whole job)."""
    from dagster_project.defs.publish.serving import serving_snapshot
    from dagster_project.defs.quality.gx_checks import marts_quality
    from dagster_project.defs.resources import resources
    from dagster_project.defs.transform.dbt_models import callcenter_dbt_models

    job = dg.define_asset_job(
        name, selection=dg.AssetSelection.assets(SERVING) | dg.AssetSelection.checks(marts_quality)
    )
    defs = dg.Definitions(
        assets=[callcenter_dbt_models, serving_snapshot],
        asset_checks=[marts_quality],
        jobs=[job],
        resources=resources().resources,
    )
    return defs.resolve_job_def(name)


@pytest.fixture
def dagster_instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def _events(result, kind):
    return [e for e in result.all_events if e.event_type_value == kind]


@pytest.mark.slow
def test_blocking_check_failure_fails_run_and_keeps_snapshot(instance, dagster_instance):
    before = publish.publish(instance, "previous").snapshot_id
    execute(instance.warehouse, "update marts.agg_queue_interval set offered = offered + 1")
    result = _gate_job("gate_fail").execute_in_process(instance=dagster_instance, raise_on_error=False)

    assert not result.success
    run = dagster_instance.get_run_by_id(result.run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    evaluations = {
        (e.asset_check_evaluation_data.asset_key.path[-1], e.asset_check_evaluation_data.check_name):
            e.asset_check_evaluation_data for e in _events(result, "ASSET_CHECK_EVALUATION")
    }  # fmt: skip
    bad = evaluations[("agg_queue_interval", "gx_marts_agg_queue_interval")]
    assert not bad.passed and bad.severity == dg.AssetCheckSeverity.ERROR
    assert evaluations[("fct_contacts", "no_phone_numbers")].passed
    materialized = {
        e.event_specific_data.materialization.asset_key for e in _events(result, "ASSET_MATERIALIZATION")
    }
    assert SERVING not in materialized
    assert publish.current_snapshot_id(instance) == before
    alerts = [a for a in read_alerts(instance) if a["kind"] == "check_failed"]
    assert alerts and all(a["details"]["dagster_run_id"] == result.run_id for a in alerts)
    assert any(a["details"]["table"] == "marts.agg_queue_interval" for a in alerts)


@pytest.mark.slow
def test_clean_gates_publish_a_new_snapshot(instance, dagster_instance):
    result = _gate_job("gate_pass").execute_in_process(instance=dagster_instance, raise_on_error=False)
    assert result.success
    materialized = {
        e.event_specific_data.materialization.asset_key for e in _events(result, "ASSET_MATERIALIZATION")
    }
    assert SERVING in materialized
    snap = publish.current_snapshot_id(instance)
    assert snap and snap.endswith(result.run_id.replace("-", "")[-12:])
