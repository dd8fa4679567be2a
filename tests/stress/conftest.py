"""Fixtures for the stress survey tests: raw stress rows in a temporary DuckDB (contract DDL from ingestion)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from ingestion.schema import ensure_raw_schema

REPO = Path(__file__).resolve().parents[2]
ITEMS_SEED = REPO / "dbt" / "seeds" / "stress_items.csv"


def item_dictionary() -> list[dict[str, str]]:
    with ITEMS_SEED.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_raw(db_path: Path, responses: list[dict], answers: list[tuple], waves: list[tuple]) -> None:
    """Create the raw layer (ingestion's contract DDL) in db_path and load the given stress rows."""
    ensure_raw_schema(db_path)
    con = duckdb.connect(str(db_path))
    try:
        cols = ["response_id", "wave", "submitted_at", "project_group", "team", "gender", "age_band",
                "education", "marital_status", "tenure_band", "comment"]  # fmt: skip
        con.executemany(
            f"insert into raw.stress_responses ({', '.join(cols)}, source_file, source_line, loaded_at) "
            f"values ({', '.join('?' * len(cols))}, 'test.csv', 1, now())",
            [[r.get(c) for c in cols] for r in responses],
        )
        con.executemany(
            "insert into raw.stress_answers values (?, ?, ?, 'test.csv', 1, now())",
            [list(a) for a in answers],
        )
        con.executemany(
            "insert into raw.survey_waves values (?, ?, ?, 'test.csv', 1, now())", [list(w) for w in waves]
        )
    finally:
        con.close()
