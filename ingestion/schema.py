"""The raw layer: every table of docs/data-contracts.md, created empty so dbt builds before any file lands.

Besides the contract tables, three *reader state* tables keep what a reader needs to re-derive
contacts when their records arrive in several files (a queue_log split at midnight, a Connect
contact re-delivered later). They hold no raw phone number either; dbt does not read them.
Nor does dbt read raw.file_fingerprint, the loader's cache of which landing files it has hashed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

LINEAGE = [("source_file", "varchar"), ("source_line", "bigint"), ("loaded_at", "timestamp")]

# table -> ordered (column, type) without lineage. Keep in step with docs/data-contracts.md.
RAW_TABLES: dict[str, list[tuple[str, str]]] = {
    "contact_segments": [
        ("source_system", "varchar"),
        ("contact_id", "varchar"),
        ("segment_seq", "integer"),
        ("channel", "varchar"),
        ("direction", "varchar"),
        ("queue_code", "varchar"),
        ("caller_key", "varchar"),
        ("queue_entry_ts", "timestamp"),
        ("answer_ts", "timestamp"),
        ("end_ts", "timestamp"),
        ("agent_id", "varchar"),
        ("wait_s", "double"),
        ("talk_s", "double"),
        ("hold_s", "double"),
        ("acw_s", "double"),
        ("outcome", "varchar"),
        ("transfer_type", "varchar"),
        ("transfer_to_queue", "varchar"),
        ("disposition", "varchar"),
        ("complaint", "boolean"),
        ("resolved", "boolean"),
    ],
    "agent_states": [
        ("source_system", "varchar"),
        ("agent_id", "varchar"),
        ("state", "varchar"),
        ("reason", "varchar"),
        ("start_ts", "timestamp"),
        ("end_ts", "timestamp"),
    ],
    "roster": [
        ("agent_id", "varchar"),
        ("agent_name", "varchar"),
        ("team", "varchar"),
        ("supervisor", "varchar"),
        ("site_code", "varchar"),
        ("skills", "varchar"),
        ("employment_type", "varchar"),
        ("hire_date", "date"),
        ("end_date", "date"),
        ("as_of_date", "date"),
    ],
    "schedules": [
        ("agent_id", "varchar"),
        ("schedule_date", "date"),
        ("shift_code", "varchar"),
        ("start_ts", "timestamp"),
        ("end_ts", "timestamp"),
        ("activity", "varchar"),
    ],
    "customer_surveys": [
        ("contact_id", "varchar"),
        ("responded_at", "timestamp"),
        ("csat", "integer"),
        ("nps", "integer"),
        ("resolved", "boolean"),
        ("comment", "varchar"),
    ],
    "stress_responses": [
        ("response_id", "varchar"),
        ("wave", "varchar"),
        ("submitted_at", "timestamp"),
        ("project_group", "varchar"),
        ("team", "varchar"),
        ("gender", "varchar"),
        ("age_band", "varchar"),
        ("education", "varchar"),
        ("marital_status", "varchar"),
        ("tenure_band", "varchar"),
        ("comment", "varchar"),
    ],
    "stress_answers": [
        ("response_id", "varchar"),
        ("item_code", "varchar"),
        ("answer", "integer"),
    ],
    "survey_waves": [
        ("wave", "varchar"),
        ("project_group", "varchar"),
        ("distributed", "integer"),
    ],
}

NATURAL_KEYS: dict[str, list[str]] = {
    "contact_segments": ["source_system", "contact_id", "segment_seq"],
    "agent_states": ["source_system", "agent_id", "state", "start_ts"],
    "roster": ["agent_id", "as_of_date"],
    "schedules": ["agent_id", "start_ts", "activity"],
    "customer_surveys": ["contact_id"],
    "stress_responses": ["response_id"],
    "stress_answers": ["response_id", "item_code"],
    "survey_waves": ["wave", "project_group"],
}

BOOKKEEPING_DDL = {
    "file_manifest": """
        file_path varchar, sha256 varchar, source varchar, format varchar,
        rows_read bigint, rows_loaded bigint, rows_quarantined bigint, rows_duplicate bigint,
        status varchar, message varchar, started_at timestamp, finished_at timestamp""",
    "quarantine": """
        source varchar, source_file varchar, source_line bigint, reason varchar,
        raw_record varchar, quarantined_at timestamp""",
    # Not read by dbt: size and mtime of each landing file when it was last hashed, so a run
    # hashes only new or changed files (ingestion/manifest.py). One row per file_path.
    "file_fingerprint": """
        file_path varchar, size_bytes bigint, mtime_ns bigint, sha256 varchar, checked_ns bigint""",
}

# Reader state (not in the dbt sources): the loaded source records contacts are re-derived from.
READER_STATE_DDL = {
    "asterisk_queue_log": """
        event_key varchar, event_ts timestamp, callid varchar, queue varchar, agent varchar,
        event varchar, data1 varchar, data2 varchar, data3 varchar, data4 varchar, data5 varchar,
        data6 varchar, caller_key varchar,
        source_file varchar, source_line bigint, loaded_at timestamp""",
    "asterisk_cdr": """
        cdr_key varchar, uniqueid varchar, linkedid varchar, caller_key varchar, dst varchar,
        dcontext varchar, channel varchar, dstchannel varchar, lastapp varchar,
        start_ts timestamp, answer_ts timestamp, end_ts timestamp, duration_s double, billsec_s double,
        disposition varchar, accountcode varchar, userfield varchar,
        source_file varchar, source_line bigint, loaded_at timestamp""",
    "amazon_connect_ctr": """
        ctr_contact_id varchar, initial_contact_id varchar, previous_contact_id varchar,
        next_contact_id varchar, channel varchar, direction varchar, queue_code varchar,
        caller_key varchar, initiation_ts timestamp, enqueue_ts timestamp, answer_ts timestamp,
        disconnect_ts timestamp, last_update_ts timestamp, agent_id varchar, wait_s double,
        talk_s double, hold_s double, acw_s double, disconnect_reason varchar, disposition varchar,
        complaint boolean, resolved boolean, transfer_completed_ts timestamp, transfer_type varchar,
        queue_exit_reason varchar,
        source_file varchar, source_line bigint, loaded_at timestamp""",
}


def table_ddl(table: str) -> str:
    cols = RAW_TABLES[table] + LINEAGE
    return ", ".join(f"{c} {t}" for c, t in cols)


# Not read by dbt: schedule rows a later export of the same agent-day replaced
# (ingestion/schedule_exports.py), kept so nothing loaded is lost and a forgotten export's
# replaced rows can come back. The columns of raw.schedules, and what replaced them.
BOOKKEEPING_DDL["schedules_replaced"] = (
    table_ddl("schedules") + ", replaced_by varchar, replaced_at timestamp"
)


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for table in RAW_TABLES:
        con.execute(f"create table if not exists raw.{table} ({table_ddl(table)})")
    for table, ddl in {**BOOKKEEPING_DDL, **READER_STATE_DDL}.items():
        con.execute(f"create table if not exists raw.{table} ({ddl})")


def ensure_raw_schema(warehouse_path: Path) -> None:
    """Create schema `raw` and every raw table of the contract (empty), so dbt builds on day one."""
    warehouse_path = Path(warehouse_path)
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse_path))
    try:
        create_raw_tables(con)
    finally:
        con.close()
