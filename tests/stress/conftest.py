"""Fixtures for the stress survey tests: raw tables per docs/data-contracts.md in a temp DuckDB."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
ITEMS_SEED = REPO / "dbt" / "seeds" / "stress_items.csv"

# DDL of the raw stress tables exactly as the raw layer contract states (lineage columns included).
RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.stress_responses (
    response_id varchar, wave varchar, submitted_at timestamp, project_group varchar, team varchar,
    gender varchar, age_band varchar, education varchar, marital_status varchar, tenure_band varchar,
    comment varchar, source_file varchar, source_line bigint, loaded_at timestamp
);
create table if not exists raw.stress_answers (
    response_id varchar, item_code varchar, answer integer,
    source_file varchar, source_line bigint, loaded_at timestamp
);
create table if not exists raw.survey_waves (
    wave varchar, project_group varchar, distributed integer,
    source_file varchar, source_line bigint, loaded_at timestamp
);
"""


def item_dictionary() -> list[dict[str, str]]:
    with ITEMS_SEED.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_raw(db_path: Path, responses: list[dict], answers: list[tuple], waves: list[tuple]) -> None:
    """Create the raw stress tables in db_path and load the given rows."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        con.execute(RAW_DDL)
        cols = ["response_id", "wave", "submitted_at", "project_group", "team", "gender", "age_band",
                "education", "marital_status", "tenure_band", "comment"]  # fmt: skip
        con.executemany(
            f"insert into raw.stress_responses ({', '.join(cols)}, source_file, source_line, loaded_at) "
            f"values ({', '.join('?' * len(cols))}, 'test.csv', 1, now())",
            [[r.get(c) for c in cols] for r in responses],
        )
        con.executemany(
            "insert into raw.stress_answers values (?, ?, ?, 'test.csv', 1, now())", [list(a) for a in answers]
        )
        con.executemany("insert into raw.survey_waves values (?, ?, ?, 'test.csv', 1, now())", [list(w) for w in waves])
    finally:
        con.close()


@pytest.fixture
def raw_writer():
    return write_raw
