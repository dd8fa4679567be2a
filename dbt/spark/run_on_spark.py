"""Build the dbt project on a local pyspark session from raw tables exported to Parquet.

Runs in the Spark venv (.venv-spark), never in the pipeline venv:

    .venv-spark/bin/python dbt/spark/run_on_spark.py --raw-parquet DIR --work-dir DIR [--summary OUT.json]

1. starts one local Spark session (in-memory catalog, spark-warehouse/ in --work-dir);
2. registers every `<table>.parquet` in --raw-parquet as the table `raw.<table>`;
3. runs the seeds and the models (`dbt build --resource-type seed --resource-type model`, no tests)
   on the `spark` target in the same process, so dbt-spark's session
   method reuses this session (one JVM start instead of three). dbt Python models (and anything
   downstream of them) are excluded: dbt-spark's session method cannot run them;
4. writes, for every `marts.agg_*` table, its row count and the sum of each numeric/boolean column.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

DBT_DIR = Path(__file__).resolve().parents[1]
# dbt-spark's session method cannot run dbt Python models (it needs a Databricks cluster).
PYTHON_MODELS = "path:models/**/*.py+"

# Same values as the `spark` output in dbt/profiles.yml: the session is created here, before dbt,
# and dbt-spark's getOrCreate() then reuses it. Naive UTC timestamps need a UTC session time zone.
SPARK_CONF = {
    "spark.driver.memory": "2g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # A throw-away build needs no Hive metastore: the in-memory catalog skips Derby's start-up.
    "spark.sql.catalogImplementation": "in-memory",
    # Tiny test data: no adaptive re-planning, no code generation (compiling generated code costs more
    # than it saves on a few thousand rows). Keep the defaults on a cluster.
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    # A short-lived JVM: the quick C1 JIT only (the C2 compiler's warm-up costs more CPU than it repays in
    # a few minutes) and the serial collector for a small heap (start-up and per-model time about a third
    # shorter in a side-by-side run here).
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    # DuckDB writes naive timestamps; read them as Spark TIMESTAMP (UTC session), the type the models use.
    "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
}


def start_session(work_dir: Path):
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.chdir(work_dir)  # Derby's metastore_db/ and derby.log land in the CWD
    builder = SparkSession.builder.master("local[2]").appName("callcenter-dbt")
    builder = builder.config("spark.sql.warehouse.dir", str(work_dir / "spark-warehouse"))
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def register_raw_tables(spark, raw_parquet: Path) -> list[str]:
    """Catalog tables over the Parquet files themselves (metadata only, no copy)."""
    spark.sql("create database if not exists raw")
    tables = []
    for path in sorted(raw_parquet.glob("*.parquet")):
        spark.sql(f"drop table if exists raw.{path.stem}")
        spark.sql(f"create table raw.{path.stem} using parquet location '{path}'")
        tables.append(path.stem)
    return tables


def run_dbt(work_dir: Path, exclude: list[str]) -> bool:
    from dbt.cli.main import dbtRunner

    common = [
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target",
        "spark",
        "--threads",
        "2",
        "--target-path",
        str(work_dir / "dbt_target"),
        "--log-path",
        str(work_dir / "dbt_logs"),
    ]
    # `dbt seed` + `dbt run` as one invocation (one project parse): seeds and models, no tests.
    command = [
        "build",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
        "--exclude",
        PYTHON_MODELS,
        *exclude,
    ]
    result = dbtRunner().invoke([*command, *common])
    if not result.success:
        print(f"dbt build on Spark failed: {result.exception or 'see the log above'}", file=sys.stderr)
    return result.success


def summarise_agg_marts(spark) -> dict[str, dict]:
    """Row count and per-column sums of every marts.agg_* table (booleans summed as 0/1)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, NumericType

    summary = {}
    for row in spark.sql("show tables in marts").collect():
        name = row["tableName"]
        if not name.startswith("agg_"):
            continue
        frame = spark.table(f"marts.{name}")
        measures = [F.count(F.lit(1)).alias("__rows")]
        for field in frame.schema.fields:
            if isinstance(field.dataType, BooleanType):
                measures.append(F.sum(F.col(field.name).cast("int")).alias(field.name))
            elif isinstance(field.dataType, NumericType):
                measures.append(F.sum(F.col(field.name).cast("double")).alias(field.name))
        values = frame.agg(*measures).collect()[0].asDict()
        summary[name] = {"rows": values.pop("__rows"), "sums": values}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-parquet", type=Path, required=True, help="folder of <raw table>.parquet files")
    parser.add_argument(
        "--work-dir", type=Path, required=True, help="Spark working dir (metastore, warehouse)"
    )
    parser.add_argument("--summary", type=Path, help="write agg_* row counts and column sums here (JSON)")
    parser.add_argument(
        "--exclude", nargs="*", default=[], help="more dbt selectors to leave out of `dbt run`"
    )
    args = parser.parse_args(argv)

    raw_parquet = args.raw_parquet.resolve()
    work_dir = args.work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    spark = start_session(work_dir)
    print(f"Spark session up in {time.monotonic() - started:.1f} s", flush=True)
    try:
        tables = register_raw_tables(spark, raw_parquet)
        if not tables:
            print(f"no *.parquet files in {raw_parquet}", file=sys.stderr)
            return 2
        print(
            f"registered {len(tables)} raw tables in {time.monotonic() - started:.1f} s: {', '.join(tables)}",
            flush=True,
        )
        if not run_dbt(work_dir, args.exclude):
            return 1
        if args.summary:
            summary = summarise_agg_marts(spark)
            args.summary.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str))
            print(f"summary of {len(summary)} agg_* marts: {args.summary}")
        print(f"Spark build done in {time.monotonic() - started:.1f} s")
        return 0
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
