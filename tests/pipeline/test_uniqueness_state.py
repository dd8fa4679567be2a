"""When `callcenter build` scopes the uniqueness tests (callcenter/pipeline.py), and when it must not.

The scope is the start of the last build whose uniqueness tests all passed with the same dbt
project; the dbt side (what a scoped test reads) is tests/dbt/test_uniqueness_scope.py.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from callcenter import pipeline
from callcenter.config import data_paths

VERIFIED = datetime(2027, 2, 27, 6, 0, 5)
UNIQUE = "test.callcenter.unique_combination_of_columns_fct_contacts_source_system__contact_id.1"
OTHER = "test.callcenter.not_null_fct_contacts_contact_id.2"


def _scope(paths, *, full_refresh: bool = False) -> str | None:
    """What the next dbt build would be given, for the dbt project as it is now."""
    return pipeline.uniqueness_changed_since(
        paths, full_refresh=full_refresh, dbt_project=pipeline.dbt_project_fingerprint()
    )


@pytest.fixture
def paths(tmp_path: Path):
    return data_paths(tmp_path / "instance").ensure()


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the dbt project's fingerprinted files, so a test can change one."""
    copy = tmp_path / "dbt"
    copy.mkdir()
    for part in pipeline.DBT_PROJECT_PARTS:
        src = pipeline.DBT_PROJECT_DIR / part
        (shutil.copy2 if src.is_file() else shutil.copytree)(src, copy / part)
    monkeypatch.setattr(pipeline, "DBT_PROJECT_DIR", copy)
    return copy


def test_first_build_and_full_refresh_check_every_key(paths, project) -> None:
    assert _scope(paths) is None
    pipeline.record_verified_build(paths, VERIFIED, pipeline.dbt_project_fingerprint())
    assert _scope(paths, full_refresh=True) is None


def test_next_build_checks_keys_loaded_since_the_verified_build_started(paths, project) -> None:
    pipeline.record_verified_build(paths, VERIFIED, pipeline.dbt_project_fingerprint())
    assert _scope(paths) == "2027-02-27 06:00:05"


@pytest.mark.parametrize(
    "changed", ["models/marts/fct_contacts.sql", "seeds/queue_config.csv", "dbt_project.yml"]
)
def test_a_changed_dbt_project_checks_every_key(paths, project, changed) -> None:
    pipeline.record_verified_build(paths, VERIFIED, pipeline.dbt_project_fingerprint())
    with (project / changed).open("a") as f:
        f.write("\n")
    assert _scope(paths) is None


def test_only_a_build_whose_uniqueness_tests_all_passed_is_verified() -> None:
    passed = {"unique_id": UNIQUE, "status": "pass"}
    assert pipeline.uniqueness_tests_passed([passed, {"unique_id": OTHER, "status": "fail"}])
    assert not pipeline.uniqueness_tests_passed([{**passed, "status": "fail"}])
    assert not pipeline.uniqueness_tests_passed([{**passed, "status": "warn"}])
    assert not pipeline.uniqueness_tests_passed([{**passed, "status": "error"}])
    assert not pipeline.uniqueness_tests_passed([])  # no test ran: nothing was verified


def test_the_state_names_the_project_and_the_build_start(paths) -> None:
    pipeline.record_verified_build(paths, VERIFIED, "fingerprint-of-the-project-that-ran")
    state = json.loads((paths.run / pipeline.UNIQUENESS_STATE_FILE).read_text())
    assert state == {
        "dbt_project": "fingerprint-of-the-project-that-ran",
        "build_started": "2027-02-27 06:00:05",
    }
    assert not list(paths.run.glob("*.tmp"))
