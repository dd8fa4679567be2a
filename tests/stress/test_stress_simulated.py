"""End to end on the simulator's stress survey: simulate -> ingest (问卷星 export through the
mapping file) -> dbt stress models, and check that the analysis finds what the simulator planted
(simulator/exports.py: tenure 6-12m +0.45, project-group effects, job characteristics the
highest-scoring dimension, ~4% straight-liners)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from simulator.exports import DIMENSION_BASE, PROJECT_EFFECT

from .conftest import REPO

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    res = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("stress_sim")
    data_dir = root / "instance"
    env = dict(os.environ, CALLCENTER_DATA_DIR=str(data_dir), CALLCENTER_HMAC_KEY="test-key-not-secret")
    cli = [str(BIN / "callcenter"), "--data-dir", str(data_dir)]
    _run([*cli, "simulate", "--days", "7", "--agents", "160", "--seed", "42", "--no-progress"], env)
    landing = data_dir / "landing"
    _run(
        [*cli, "ingest", "--no-progress", str(landing / "stress_survey"), str(landing / "survey_waves")], env
    )
    dbt_dir = REPO / "dbt"
    _run(
        [str(BIN / "dbt"), "build", "--select", "tag:stress", "--vars", "{stress_workload_from_marts: false}",
         "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        env,
    )  # fmt: skip
    con = duckdb.connect(str(data_dir / "warehouse" / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def test_response_rate_and_data_quality(simulated):
    wave = simulated.execute(
        "select wave, returned, distributed, straightlined, completion_num, completion_den "
        "from marts.agg_stress_wave where grouping = 'all' order by wave"
    ).fetchall()
    assert len(wave) == 2
    for _, returned, distributed, straight, complete, den in wave:
        # The simulator returns each questionnaire with probability 0.9125 (146/160).
        assert 0.8 < returned / distributed <= 1.0
        assert straight >= 1 and complete < den


def test_planted_group_effects_are_found(simulated):
    tests = simulated.execute(
        "select wave, grouping, dimension_code, significant, highest_group from marts.agg_stress_group_tests"
    ).df()
    top_project = max(PROJECT_EFFECT, key=PROJECT_EFFECT.get)
    for wave, part in tests.groupby("wave"):
        tenure = part[part["grouping"] == "tenure_band"]
        assert (tenure["highest_group"] == "6-12m").sum() >= 4, wave
        assert tenure["significant"].sum() >= 3, wave
        project = part[part["grouping"] == "project_group"]
        assert (project["highest_group"] == top_project).sum() >= 4, wave
        assert project["significant"].sum() >= 3, wave


def test_dimension_levels_and_reliability(simulated):
    dims = simulated.execute(
        "select wave, dimension_code, mean_score, stressor_type from marts.agg_stress_dimension "
        "where grouping = 'all'"
    ).df()
    top_dim = max(DIMENSION_BASE, key=DIMENSION_BASE.get)
    for _, part in dims.groupby("wave"):
        best = part.sort_values("mean_score").iloc[-1]
        assert best["dimension_code"] == top_dim and best["stressor_type"] == "explicit"
    alpha = simulated.execute(
        "select min(alpha) from marts.agg_stress_reliability where scope = 'overall' and row_type = 'scale'"
    ).fetchone()[0]
    assert alpha > 0.8
