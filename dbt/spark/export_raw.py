"""Export the raw layer of a DuckDB warehouse to Parquet, one `<table>.parquet` per raw table.

Spark (or Databricks) then reads them as the `raw` database (dbt/spark/run_on_spark.py locally,
`create table raw.<table> using parquet location '...'` on a cluster). Runs in the pipeline venv:

    .venv/bin/python dbt/spark/export_raw.py --warehouse data/warehouse/warehouse.duckdb --out DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb


def export_raw(warehouse: Path, out: Path) -> list[str]:
    """Write every base table of schema `raw` to out/<table>.parquet; returns the table names."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        for table in tables:
            target = str(out / f"{table}.parquet").replace("'", "''")
            con.execute(f"copy raw.{table} to '{target}' (format parquet)")
    finally:
        con.close()
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="path to warehouse.duckdb")
    parser.add_argument("--out", type=Path, required=True, help="folder for the <table>.parquet files")
    args = parser.parse_args(argv)
    if not args.warehouse.is_file():
        print(f"no warehouse at {args.warehouse}", file=sys.stderr)
        return 2
    tables = export_raw(args.warehouse, args.out)
    print(f"exported {len(tables)} raw tables to {args.out}: {', '.join(tables)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
