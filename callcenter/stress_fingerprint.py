"""Skip the stress-survey dbt Python models when nothing they read has changed (issue #5/#9).

The stress marts are incremental Python models that fully replace their rows when they rebuild.
Each build first fingerprints exactly the relations the model reads (row count + order-free sum of
row hashes, computed inside DuckDB) together with the code and library versions that compute it.
If the fingerprint equals the one recorded for the rows in the table, the model returns an empty
relation with the table's columns, so dbt inserts nothing and deletes nothing, and neither pandas
nor scipy is imported. This module must stay light: no numpy/pandas/scipy imports.

Recording is two-phase so a failed build never leaves a fingerprint that claims stale rows are
current: the model stores the new fingerprint as `pending_fingerprint` (and `rebuilt_at`) before it
returns, and the model's post-hook, run by dbt only after the insert succeeded, copies it to
`built_fingerprint`. A model is skipped only when `built_fingerprint` equals today's fingerprint.
The post-hook is in dbt/models/marts/stress/_stress__marts.yml (it needs dbt's `this`). The record
lives in schema build_state, outside marts, so the serving snapshot never sees it.
--full-refresh ignores the record and rebuilds.
"""

from __future__ import annotations

import hashlib
import time
from importlib import metadata
from pathlib import Path

import duckdb

STATE_SCHEMA = "build_state"
STATE_TABLE = f"{STATE_SCHEMA}.stress_mart_builds"
# Code whose change must rebuild the marts even when the data did not change.
_CODE_FILES = ("stress_marts.py", "survey_stats.py", "stress_fingerprint.py")
_LIBRARIES = ("numpy", "pandas", "scipy", "duckdb")


def _code_version() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _CODE_FILES:
        digest.update((here / name).read_bytes())
    for lib in _LIBRARIES:
        digest.update(f"{lib}={metadata.version(lib)};".encode())
    return digest.hexdigest()


def relation_fingerprint(relation) -> str:
    """Row count and order-independent content hash of a DuckDB relation (e.g. dbt.ref(...))."""
    ((count, content),) = relation.query(
        "fingerprinted", "select count(*), coalesce(sum(hash(r)::hugeint), 0) from fingerprinted r"
    ).fetchall()
    return f"{count}:{content}"


def inputs_fingerprint(inputs: dict) -> str:
    """Fingerprint of every named input relation plus the code that turns them into the mart."""
    parts = [f"code={_code_version()}"]
    parts += [f"{name}={relation_fingerprint(rel)}" for name, rel in sorted(inputs.items())]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _ensure_state_table(session) -> None:
    exists = session.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
        [STATE_SCHEMA, STATE_TABLE.split(".")[1]],
    ).fetchall()
    if exists[0][0]:
        return
    # dbt runs two threads: on an instance's first build two stress models may create it at once.
    for attempt in range(3):
        try:
            session.execute(f"create schema if not exists {STATE_SCHEMA}").fetchall()
            session.execute(
                f"create table if not exists {STATE_TABLE} (model_name varchar primary key, "
                "pending_fingerprint varchar, built_fingerprint varchar, rebuilt_at timestamptz)"
            ).fetchall()
            return
        except duckdb.TransactionException:
            if attempt == 2:
                raise
            time.sleep(0.5)


def unchanged_since_last_build(dbt, session, fingerprint: str) -> bool:
    """True when the table already holds the rows built from inputs with this fingerprint."""
    if not dbt.is_incremental:  # first build or --full-refresh
        return False
    _ensure_state_table(session)
    # fetchall: DuckDB 2.0 refuses further work on a cursor with an undrained result.
    rows = session.execute(
        f"select built_fingerprint from {STATE_TABLE} where model_name = ?", [dbt.this.identifier]
    ).fetchall()
    return rows == [(fingerprint,)]


def no_change(dbt, session):
    """An empty relation with the table's own columns: the incremental insert adds nothing."""
    return session.sql(f"select * from {dbt.this} where false")


def record_pending(dbt, session, fingerprint: str, rebuilt_rows: int) -> None:
    """Store the fingerprint the post-hook promotes once dbt has written the rebuilt rows.

    The incremental strategy (delete+insert keyed on `true`) replaces the table only when the new
    frame has rows, so an empty rebuild empties the table here.
    """
    _ensure_state_table(session)
    # built_fingerprint is cleared: until the post-hook runs, the table's rows are not vouched for.
    session.execute(
        f"insert or replace into {STATE_TABLE} values (?, ?, null, now())", [dbt.this.identifier, fingerprint]
    ).fetchall()
    if rebuilt_rows == 0 and dbt.is_incremental:
        session.execute(f"delete from {dbt.this}").fetchall()
