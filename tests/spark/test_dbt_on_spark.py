"""The same dbt models on Spark and on DuckDB give the same marts.

A small simulated center is ingested into DuckDB and built there with dbt (SQL models). Its raw
tables are exported to Parquet and the same project is built on a local pyspark session
(dbt/spark/run_on_spark.py in .venv-spark). Every agg_* SQL mart must then have the same row
count and the same sum of every numeric column (booleans counted) on both engines.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from callcenter.config import data_paths, hmac_key
from ingestion import ensure_raw_schema, ingest_landing
from simulator import simulate

REPO = Path(__file__).resolve().parents[2]
DBT_DIR = REPO / "dbt"
DBT = Path(sys.executable).parent / "dbt"
SPARK_PYTHON = REPO / ".venv-spark" / "bin" / "python"
RUN_ON_SPARK = DBT_DIR / "spark" / "run_on_spark.py"
# dbt Python models (staffing, stress statistics) cannot run on dbt-spark's session method.
PYTHON_MODELS = "path:models/**/*.py+"
EXPORT_RAW = DBT_DIR / "spark" / "export_raw.py"
NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "UBIGINT",
)


def _dbt_duckdb(data_dir: Path, *args: str) -> None:
    env = {**os.environ, "CALLCENTER_DATA_DIR": str(data_dir), "DBT_PROFILES_DIR": str(DBT_DIR)}
    result = subprocess.run(
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
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:]


def _export_raw(warehouse: Path, out: Path) -> list[str]:
    spec = importlib.util.spec_from_file_location("export_raw", EXPORT_RAW)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.export_raw(warehouse, out)


def _duckdb_agg_summary(warehouse: Path) -> dict[str, dict]:
    """Row count and per-column sums of every marts.agg_* table, as run_on_spark.py computes them."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name like 'agg\\_%' escape '\\' order by table_name, ordinal_position"
        ).fetchall():
            columns.setdefault(table, []).append((column, data_type))
        summary = {}
        for table, cols in columns.items():
            measures = ["count(*)"]
            names = []
            for column, data_type in cols:
                if data_type == "BOOLEAN":
                    measures.append(f'sum(cast("{column}" as integer))')
                elif data_type.split("(")[0] in NUMERIC_TYPES:
                    measures.append(f'sum(cast("{column}" as double))')
                else:
                    continue
                names.append(column)
            values = con.execute(f"select {', '.join(measures)} from marts.{table}").fetchone()
            summary[table] = {"rows": values[0], "sums": dict(zip(names, values[1:], strict=True))}
        return summary
    finally:
        con.close()


def _differences(duck: dict[str, dict], spark: dict[str, dict]) -> list[str]:
    problems = []
    for table in sorted(duck):
        if table not in spark:
            problems.append(f"{table}: not built on Spark")
            continue
        d, s = duck[table], spark[table]
        if d["rows"] != s["rows"]:
            problems.append(f"{table}: {d['rows']} rows on DuckDB, {s['rows']} on Spark")
        if set(d["sums"]) != set(s["sums"]):
            problems.append(
                f"{table}: numeric columns differ: DuckDB only {sorted(set(d['sums']) - set(s['sums']))}, "
                f"Spark only {sorted(set(s['sums']) - set(d['sums']))}"
            )
        for column in sorted(set(d["sums"]) & set(s["sums"])):
            dv, sv = d["sums"][column], s["sums"][column]
            if dv is None or sv is None:
                if dv is not sv:
                    problems.append(f"{table}.{column}: sum {dv} on DuckDB, {sv} on Spark")
            # Ratios are `float` (4 bytes on DuckDB): their sums agree to about 7 digits.
            elif not math.isclose(dv, sv, rel_tol=1e-6, abs_tol=1e-6):
                problems.append(f"{table}.{column}: sum {dv} on DuckDB, {sv} on Spark")
    problems += [f"{table}: built on Spark only" for table in sorted(set(spark) - set(duck))]
    return problems


@pytest.mark.spark
def test_agg_marts_on_spark_equal_duckdb(data_dir: Path, tmp_path: Path) -> None:
    if not SPARK_PYTHON.exists():
        pytest.skip("no .venv-spark (make setup)")
    started = time.monotonic()
    paths = data_paths(data_dir)
    paths.ensure()
    simulate(paths.root, days=2, scale=0.1, seed=7, progress=False)
    ensure_raw_schema(paths.warehouse)
    ingest_landing(paths.warehouse, paths.landing, hmac_key(paths))
    # dbt seed + dbt run in one invocation (one project parse); the dbt area's suite runs the tests.
    _dbt_duckdb(
        data_dir, "build", "--resource-type", "seed", "--resource-type", "model", "--exclude", PYTHON_MODELS
    )
    duck = _duckdb_agg_summary(paths.warehouse)
    raw_tables = _export_raw(paths.warehouse, tmp_path / "raw_parquet")
    duckdb_seconds = time.monotonic() - started

    summary_path = tmp_path / "spark_summary.json"
    result = subprocess.run(
        [
            str(SPARK_PYTHON),
            str(RUN_ON_SPARK),
            "--raw-parquet",
            str(tmp_path / "raw_parquet"),
            "--work-dir",
            str(tmp_path / "spark"),
            "--summary",
            str(summary_path),
        ],
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout[-6000:], result.stderr[-3000:])
    spark = json.loads(summary_path.read_text())
    print(
        f"DuckDB side {duckdb_seconds:.0f} s, Spark side {time.monotonic() - started - duckdb_seconds:.0f} s"
    )

    assert {"contact_segments", "agent_states", "roster", "schedules"} <= set(raw_tables)
    # Something real was compared: the SQL agg marts exist and carry traffic.
    assert {"agg_queue_interval", "agg_queue_daily", "agg_center_daily", "agg_agent_daily"} <= set(duck)
    assert duck["agg_queue_interval"]["sums"]["offered"] > 100
    assert duck["agg_agent_daily"]["rows"] > 0
    assert _differences(duck, spark) == []
