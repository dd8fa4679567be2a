"""Fixtures for the dbt project tests: a temporary instance with raw tables, and a dbt runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
DBT_DIR = REPO / "dbt"
DBT = Path(sys.executable).parent / "dbt"
# The stress-survey models belong to another area and have their own tests.
# Every column but written_at, the start of the dbt run that wrote the row (fct_contacts and the
# daily contact aggregates): an incremental run and a full refresh of the same rows differ there only.
SAME_ROWS = "columns(lambda c: c <> 'written_at')"
NOT_MINE = [
    "path:models/staging/stress",
    "path:models/intermediate/stress",
    "path:models/marts/stress",
    "path:tests/stress",
]


def run_dbt(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CALLCENTER_DATA_DIR": str(data_dir), "DBT_PROFILES_DIR": str(DBT_DIR)}
    return subprocess.run(
        [
            str(DBT),
            *args,
            "--target-path",
            str(data_dir / "dbt_target"),
            "--log-path",
            str(data_dir / "dbt_logs"),
        ],
        cwd=DBT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def dbt_runner():
    return run_dbt
