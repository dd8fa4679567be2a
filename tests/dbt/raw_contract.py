"""The raw-layer tables of docs/data-contracts.md, for building dbt on a test warehouse.

Uses `ingestion.ensure_raw_schema` when the ingestion library provides it (the real contract
implementation); otherwise creates the same tables from the DDL below, copied from the contract.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

LINEAGE = "source_file varchar, source_line bigint, loaded_at timestamp"

RAW_TABLES: dict[str, str] = {
    "contact_segments": f"""
        source_system varchar, contact_id varchar, segment_seq integer, channel varchar, direction varchar,
        queue_code varchar, caller_key varchar, queue_entry_ts timestamp, answer_ts timestamp, end_ts timestamp,
        agent_id varchar, wait_s double, talk_s double, hold_s double, acw_s double, outcome varchar,
        transfer_type varchar, transfer_to_queue varchar, disposition varchar, complaint boolean,
        resolved boolean, {LINEAGE}""",
    "agent_states": f"""
        source_system varchar, agent_id varchar, state varchar, reason varchar, start_ts timestamp,
        end_ts timestamp, {LINEAGE}""",
    "roster": f"""
        agent_id varchar, agent_name varchar, team varchar, supervisor varchar, site_code varchar,
        skills varchar, employment_type varchar, hire_date date, end_date date, as_of_date date, {LINEAGE}""",
    "schedules": f"""
        agent_id varchar, schedule_date date, shift_code varchar, start_ts timestamp, end_ts timestamp,
        activity varchar, {LINEAGE}""",
    "customer_surveys": f"""
        contact_id varchar, responded_at timestamp, csat integer, nps integer, resolved boolean,
        comment varchar, {LINEAGE}""",
    "stress_responses": f"""
        response_id varchar, wave varchar, submitted_at timestamp, project_group varchar, team varchar,
        gender varchar, age_band varchar, education varchar, marital_status varchar, tenure_band varchar,
        comment varchar, {LINEAGE}""",
    "stress_answers": f"response_id varchar, item_code varchar, answer integer, {LINEAGE}",
    "survey_waves": f"wave varchar, project_group varchar, distributed integer, {LINEAGE}",
    "file_manifest": """
        file_path varchar, sha256 varchar, source varchar, format varchar, rows_read bigint,
        rows_loaded bigint, rows_quarantined bigint, rows_duplicate bigint, status varchar, message varchar,
        started_at timestamp, finished_at timestamp""",
    "quarantine": """
        source varchar, source_file varchar, source_line bigint, reason varchar, raw_record varchar,
        quarantined_at timestamp""",
}


def ensure_raw_tables(warehouse: Path) -> None:
    """Create every raw table (empty) in the warehouse file, as ingestion would."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        from ingestion import ensure_raw_schema  # type: ignore[attr-defined]
    except ImportError:
        ensure_raw_schema = None
    if ensure_raw_schema is not None:
        ensure_raw_schema(warehouse)
        return
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists raw")
        for table, columns in RAW_TABLES.items():
            con.execute(f"create table if not exists raw.{table} ({columns})")
    finally:
        con.close()


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
