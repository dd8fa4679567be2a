"""`callcenter serve` user errors and secrets, without starting Superset."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from callcenter.commands import serve
from callcenter.config import data_paths

REPO = Path(__file__).resolve().parents[2]


def callcenter(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "--data-dir", str(data_dir), "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, **env},
    )


def test_without_a_serving_database_it_says_what_to_do(data_dir: Path):
    done = callcenter(data_dir)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "no serving database" in done.stderr and "callcenter build" in done.stderr


def test_without_the_superset_venv_it_says_what_to_do(data_dir: Path, tmp_path: Path):
    (data_dir / "serving").mkdir(parents=True)
    (data_dir / "serving" / "serving.duckdb").write_bytes(b"")
    done = callcenter(data_dir, CALLCENTER_SUPERSET_VENV=str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "make setup" in done.stderr


def test_stop_when_nothing_runs(data_dir: Path):
    done = callcenter(data_dir, "--stop")
    assert done.returncode == 0 and "not running" in done.stdout


def test_secrets_are_generated_once_with_owner_only_permissions(data_dir: Path):
    paths = data_paths(data_dir)
    first = serve.ensure_secrets(paths)
    second = serve.ensure_secrets(paths)
    assert first == second  # kept across restarts
    assert len(set(first.values())) == 4
    assert stat.S_IMODE(paths.secrets.stat().st_mode) == 0o700
    for p in paths.secrets.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    users = (paths.secrets / "superset_users.txt").read_text()
    for user in ("admin", "analyst", "executive"):
        assert f"{user}\t{first[f'superset_{user}.password']}\t" in users


def test_a_snapshot_published_before_the_serving_tables_is_reported(tmp_path: Path):
    import duckdb
    from dash_serving_fixture import build_serving_fixture

    current = build_serving_fixture(tmp_path / "current.duckdb")
    assert serve.missing_serving_tables(current) == []
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(
        "create schema marts; create table marts.agg_center_daily as select current_date as report_date"
    )
    con.execute(f"attach '{current}' as cur (read_only)")
    con.execute(
        "create table marts.agg_staffing_interval as "
        "select * exclude (weekday, time_of_day) from cur.marts.agg_staffing_interval"
    )
    con.close()
    missing = serve.missing_serving_tables(old)
    # whole marts the dashboards read, and columns of a mart published before they existed
    assert {"agg_contact_outcomes_daily", "agg_complaints_daily", "fct_queue_stints"} <= set(missing)
    assert {"agg_staffing_interval.time_of_day", "agg_center_daily.complaint_num"} <= set(missing)
    assert "agg_center_daily" not in missing and "agg_staffing_interval.offered" not in missing
