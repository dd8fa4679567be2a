"""Helpers for the ingestion tests (imported by the test modules and conftest)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb

FIXTURES = Path(__file__).parent / "fixtures"
KEY = b"test-key-not-secret"
DATA_TABLES = [
    "contact_segments", "agent_states", "roster", "schedules", "customer_surveys", "stress_responses",
    "stress_answers", "survey_waves", "quarantine", "file_manifest",
    "asterisk_queue_log", "asterisk_cdr", "amazon_connect_ctr",
]  # fmt: skip


def caller_key(e164: str) -> str:
    """What the warehouse must hold for a number: HMAC-SHA256(key, E.164), computed independently."""
    return hmac.new(KEY, e164.encode(), hashlib.sha256).hexdigest()


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def snapshot(warehouse: Path) -> dict[str, list]:
    """Every row of every raw table (sorted), to prove a rejected file changed nothing. The one
    manifest line recording a rejection is left out: it is the only trace a rejected file leaves."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            t: sorted(
                map(
                    repr,
                    con.execute(
                        f"select * from raw.{t}"
                        + (" where status = 'loaded'" if t == "file_manifest" else "")
                    ).fetchall(),
                )
            )
            for t in DATA_TABLES
        }
    finally:
        con.close()


def assert_accounting(results) -> None:
    for r in results:
        if r.status == "loaded":
            assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_duplicate, r
