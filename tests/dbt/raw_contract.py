"""Raw-layer helpers for dbt tests: the real contract tables (ingestion.ensure_raw_schema) and a
small inserter for hand-built rows."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion import ensure_raw_schema


def ensure_raw_tables(warehouse: Path) -> None:
    """Create every raw table of docs/data-contracts.md (empty), exactly as ingestion does."""
    ensure_raw_schema(warehouse)


def insert_rows(warehouse: Path, table: str, rows: list[dict]) -> None:
    """Insert dict rows into raw.<table>, naming only the columns given."""
    if not rows:
        return
    con = duckdb.connect(str(warehouse))
    try:
        cols = list(rows[0])
        placeholders = ", ".join("?" for _ in cols)
        con.executemany(
            f"insert into raw.{table} ({', '.join(cols)}) values ({placeholders})",
            [[r.get(c) for c in cols] for r in rows],
        )
    finally:
        con.close()
