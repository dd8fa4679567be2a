"""End to end against the simulator's ground truth: simulate a few days, ingest the landing files,
run the dbt models, and compare agg_queue_interval with truth/intervals.parquet per queue and
local interval (offered, answered, abandoned, answered within T)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from .conftest import NOT_MINE, run_dbt

CALLCENTER = Path(sys.executable).parent / "callcenter"


def _cli(data_dir: Path, *args: str) -> None:
    env = {**os.environ, "CALLCENTER_HMAC_KEY": "test-key-not-secret"}
    result = subprocess.run(
        [str(CALLCENTER), "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("telephony", ["canonical", "asterisk", "amazon-connect"])
def test_queue_intervals_match_simulator_truth(tmp_path: Path, telephony: str) -> None:
    data_dir = tmp_path / "instance"
    _cli(data_dir, "simulate", "--days", "2", "--scale", "0.15", "--telephony", telephony, "--no-progress")
    _cli(data_dir, "ingest", str(data_dir / "landing"), "--no-progress")
    for command in ("seed", "run"):
        result = run_dbt(data_dir, command, "--exclude", *NOT_MINE)
        assert result.returncode == 0, result.stdout[-5000:]

    con = duckdb.connect(str(data_dir / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        diff = con.execute(
            f"""
            with truth as (
                select queue_code, interval_start_local, offered, answered, abandoned, answered_within_t
                from read_parquet('{data_dir / "truth" / "intervals.parquet"}')
            ),
            mart as (
                select queue_code, interval_start_local, sum(offered) as offered, sum(answered) as answered,
                       sum(abandoned) as abandoned, sum(answered_within_t) as answered_within_t
                from marts.agg_queue_interval group by all
            )
            select coalesce(t.queue_code, m.queue_code), coalesce(t.interval_start_local, m.interval_start_local),
                   t.offered, m.offered, t.answered, m.answered, t.abandoned, m.abandoned,
                   t.answered_within_t, m.answered_within_t
            from truth t full join mart m using (queue_code, interval_start_local)
            where coalesce(t.offered, 0) <> coalesce(m.offered, 0)
               or coalesce(t.answered, 0) <> coalesce(m.answered, 0)
               or coalesce(t.abandoned, 0) <> coalesce(m.abandoned, 0)
               or coalesce(t.answered_within_t, 0) <> coalesce(m.answered_within_t, 0)
            order by 1, 2 limit 20
            """
        ).fetchall()
        total = con.execute("select sum(offered) from marts.agg_queue_interval").fetchone()[0]
    finally:
        con.close()
    assert total > 100
    assert diff == [], diff
