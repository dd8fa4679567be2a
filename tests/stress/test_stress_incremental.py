"""Issue #5/#9: a build without new survey data leaves the stress marts untouched and skips their
computation; a new wave rebuilds them to exactly what --full-refresh produces.

Real dbt builds of tag:stress on a temporary DuckDB (survey only: stress_workload_from_marts=false).
"Not recomputed" is read from build_state.stress_mart_builds.rebuilt_at, which only the rebuild
path writes (callcenter/stress_fingerprint.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from .conftest import REPO, item_dictionary, write_raw
from .synthetic import make_wave

pytestmark = pytest.mark.slow

DBT = Path(sys.executable).parent / "dbt"
STRESS_MARTS = (
    "agg_stress_wave", "agg_stress_dimension", "agg_stress_item", "agg_stress_reliability",
    "agg_stress_group_tests", "agg_stress_workload", "agg_stress_workload_correlation",
)  # fmt: skip


def _build(project: Path, data_dir: Path, *extra: str) -> None:
    env = dict(os.environ, CALLCENTER_DATA_DIR=str(data_dir))
    result = subprocess.run(
        [str(DBT), "build", "--select", "tag:stress", "--vars", "{stress_workload_from_marts: false}",
         "--project-dir", str(project), "--profiles-dir", str(project), *extra],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _content_sql(con, mart: str) -> str:
    """Row count and order-free hashes of a mart's rows, doubles rounded to 9 places: a mean or a
    test statistic summed in parallel can differ in its last bits between two builds of the same
    rows (seen once in a clean-clone run, 2026-11-24)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? order by ordinal_position",
        [mart],
    ).fetchall()
    values = ", ".join(f'round("{c}", 9)' if t in ("DOUBLE", "FLOAT") else f'"{c}"' for c, t in columns)
    row = f"row({values})"
    return f"select count(*), sum(hash({row})::hugeint), bit_xor(hash({row})) from marts.{mart}"


def _state(db: Path) -> dict:
    """Per mart: (row count, order-free content hash, xor hash) and when its rows were computed."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        content = {mart: con.execute(_content_sql(con, mart)).fetchall()[0] for mart in STRESS_MARTS}
        rebuilt = dict(
            con.execute("select model_name, rebuilt_at from build_state.stress_mart_builds").fetchall()
        )
        leftovers = con.execute(
            "select table_name from duckdb_tables() where table_name like '%dbt_tmp%'"
        ).fetchall()
    finally:
        con.close()
    return {"content": content, "rebuilt_at": rebuilt, "leftovers": leftovers}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("stress_incremental")
    project = root / "dbt"
    shutil.copytree(REPO / "dbt", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    data_dir = root / "instance"
    db = data_dir / "warehouse" / "warehouse.duckdb"
    items = item_dictionary()
    write_raw(db, *make_wave(items))
    states = {}
    _build(project, data_dir)
    states["first"] = _state(db)
    _build(project, data_dir)
    states["unchanged"] = _state(db)
    # A new wave file lands (ingestion appends its rows to raw).
    write_raw(db, *make_wave(items, n=40, seed=21, wave="2026Q4"))
    _build(project, data_dir)
    states["new_wave"] = _state(db)
    _build(project, data_dir, "--full-refresh")
    states["full_refresh"] = _state(db)
    return states


def test_unchanged_survey_leaves_marts_identical_and_skips_the_computation(builds):
    first, again = builds["first"], builds["unchanged"]
    assert all(count > 0 for count, _, _ in first["content"].values())
    assert again["content"] == first["content"]
    assert set(first["rebuilt_at"]) == set(STRESS_MARTS)
    assert again["rebuilt_at"] == first["rebuilt_at"]


def test_new_wave_rebuilds_every_mart_to_the_full_refresh_result(builds):
    before, after, full = builds["unchanged"], builds["new_wave"], builds["full_refresh"]
    assert after["content"]["agg_stress_wave"][0] > before["content"]["agg_stress_wave"][0]
    for mart in STRESS_MARTS:
        assert after["rebuilt_at"][mart] > before["rebuilt_at"][mart], mart
    assert after["content"] == full["content"]


def test_no_dbt_temp_tables_are_left_behind(builds):
    assert all(state["leftovers"] == [] for state in builds.values())
