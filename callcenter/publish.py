"""Publish the `marts` schema as an atomic serving snapshot, keep the last N, roll back.

Superset and analysts only ever open ``<data-dir>/serving/serving.duckdb`` read-only. It is never
written in place: a run builds a fresh file beside it, checkpoints and closes it (no ``.wal``),
fsyncs it and swaps it in with ``os.replace``. A reader that opened the old file keeps reading the
old inode; a reader opening after the rename sees the new one; nobody ever sees a mix or hits the
warehouse writer's lock. Every snapshot also stays under ``serving/snapshots/`` (hard link, no
copy) so ``callcenter rollback`` is one more rename.

The snapshot is shaped for dashboards that open a fresh read-only connection per chart query:
small row groups and a few tables stored in the order their charts read them (zonemaps then skip
most of a table). That is physical layout only: publishing copies the marts, every mart keeps its
columns and rows (docs/marts.md), and any table a dashboard reads is a dbt mart.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from callcenter.config import Paths
from callcenter.errors import UserError

PUBLISHED_SCHEMA = "marts"
PUBLISH_INFO_TABLE = "publish_info"
KEEP_ENV = "CALLCENTER_SERVING_KEEP"
DEFAULT_KEEP = 5

# DuckDB's default is 122,880 rows: a 1M-row table is then ~8 row groups, too coarse for zonemaps
# to skip anything in a "latest 100 abandoned contacts" top-N. 16,384 lets it read 1-2 of ~65.
SERVING_ROW_GROUP_SIZE = 16_384
# Physical order of published tables (their rows and columns are unchanged): outcome first so an
# outcome filter reads one run of row groups, newest first so a top-N by time stops early.
SERVING_ORDER = {"fct_queue_stints": "outcome, interval_start_local desc"}

# Column names that must never reach serving, whatever the table (personal data by construction).
FORBIDDEN_COLUMN = re.compile(
    r"(^|_)(phone|msisdn|ani|dnis|caller_number|callerid|caller_id_number|response_id)($|_)", re.I
)


class PublishError(UserError):
    """The warehouse cannot be published as it is (nothing was swapped)."""


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    path: Path
    tables: dict[str, int]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def new_snapshot_id(run_id: str, now: datetime | None = None) -> str:
    """Sortable by time; the run id suffix ties a snapshot to its build."""
    now = now or datetime.now(UTC)
    safe_run = re.sub(r"[^A-Za-z0-9]", "", run_id)[-12:] or "run"  # the distinctive end of the id
    return f"{now:%Y%m%dT%H%M%S%f}Z-{safe_run}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def published_tables(warehouse: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    rows = warehouse.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = ? and table_schema = ? order by table_name",
        [catalog, PUBLISHED_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows if r[0] != PUBLISH_INFO_TABLE]


def privacy_violations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """Reasons the `marts` schema of `catalog` must not be published (empty list = fine).

    Cheap structural guard run on every publish, in addition to the GX suites (which scan the
    values): column names that carry personal data — phone numbers, or a survey response id, which
    only a response-level table would have.
    """
    problems: list[str] = []
    cols = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = ? and table_schema = ?",
        [catalog, PUBLISHED_SCHEMA],
    ).fetchall()
    for table, column in cols:
        if FORBIDDEN_COLUMN.search(column):
            problems.append(f"{PUBLISHED_SCHEMA}.{table}.{column}: personal-data column name")
    return problems


def build_snapshot(paths: Paths, run_id: str, *, now: datetime | None = None) -> Snapshot:
    """Write the temp serving file for this run (not yet visible to readers)."""
    if not paths.warehouse.exists():
        raise PublishError(f"no warehouse at {paths.warehouse}: run `callcenter build` first")
    paths.serving_dir.mkdir(parents=True, exist_ok=True)
    snapshot_id = new_snapshot_id(run_id, now)
    tmp = paths.serving_dir / f"serving.duckdb.tmp-{snapshot_id}"
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    published_at = (now or datetime.now(UTC)).replace(tzinfo=None)
    counts: dict[str, int] = {}
    con = duckdb.connect()
    try:
        con.execute(f"attach '{tmp}' as serving (row_group_size {SERVING_ROW_GROUP_SIZE})")
        con.execute("use serving")
        con.execute(f"attach '{paths.warehouse}' as wh (read_only)")
        problems = privacy_violations(con, "wh")
        if problems:
            raise PublishError("refusing to publish: " + "; ".join(problems))
        tables = published_tables(con, "wh")
        if not tables:
            raise PublishError(f"warehouse has no tables in schema {PUBLISHED_SCHEMA}: nothing to publish")
        con.execute(f"create schema {PUBLISHED_SCHEMA}")
        for table in tables:
            q = f"{PUBLISHED_SCHEMA}.{_quote(table)}"
            # Views become tables: serving must not depend on schemas it does not contain.
            order = f" order by {SERVING_ORDER[table]}" if table in SERVING_ORDER else ""
            con.execute(f"create table {q} as select * from wh.{q}{order}")
            counts[table] = con.execute(f"select count(*) from {q}").fetchone()[0]
        con.execute(
            f"create table {PUBLISHED_SCHEMA}.{PUBLISH_INFO_TABLE} (snapshot_id varchar, run_id varchar, "
            "published_at timestamp, table_name varchar, row_count bigint)"
        )
        con.executemany(
            f"insert into {PUBLISHED_SCHEMA}.{PUBLISH_INFO_TABLE} values (?, ?, ?, ?, ?)",
            [(snapshot_id, run_id, published_at, t, n) for t, n in counts.items()],
        )
        con.execute("detach wh")
        con.execute("checkpoint serving")
        con.execute("use memory")
        con.execute("detach serving")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    con.close()
    if Path(f"{tmp}.wal").exists():  # closing checkpoints; a WAL here would be replayed by readers
        raise PublishError(f"{tmp}.wal left after close: not publishing a file that needs WAL replay")
    _fsync(tmp)
    return Snapshot(snapshot_id, tmp, counts)


def _snapshots_dir(paths: Paths) -> Path:
    return paths.serving_dir / "snapshots"


def _swap_in(paths: Paths, source: Path) -> None:
    """Make `source` the serving file: link to a temp name, then one atomic rename."""
    staging = paths.serving_dir / f".serving.duckdb.swap-{os.getpid()}"
    staging.unlink(missing_ok=True)
    os.link(source, staging)
    os.replace(staging, paths.serving)
    _fsync(paths.serving_dir)


def keep_count() -> int:
    try:
        return max(1, int(os.environ.get(KEEP_ENV, DEFAULT_KEEP)))
    except ValueError as e:
        raise UserError(f"{KEEP_ENV} must be a whole number") from e


def list_snapshots(paths: Paths) -> list[Path]:
    """Kept snapshots, oldest first."""
    d = _snapshots_dir(paths)
    return sorted(d.glob("*.duckdb")) if d.exists() else []


def current_snapshot_id(paths: Paths) -> str | None:
    if not paths.serving.exists():
        return None
    con = duckdb.connect(str(paths.serving), read_only=True)
    try:
        row = con.execute(f"select max(snapshot_id) from {PUBLISHED_SCHEMA}.{PUBLISH_INFO_TABLE}").fetchone()
    finally:
        con.close()
    return row[0] if row else None


def _log(paths: Paths, event: dict) -> None:
    paths.serving_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.serving_dir / "publish_log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(event, default=str) + "\n")


def publish(paths: Paths, run_id: str, *, now: datetime | None = None) -> Snapshot:
    """Build the snapshot, keep it under snapshots/, swap it in, prune old snapshots."""
    snap = build_snapshot(paths, run_id, now=now)
    keep_dir = _snapshots_dir(paths)
    keep_dir.mkdir(parents=True, exist_ok=True)
    kept = keep_dir / f"{snap.snapshot_id}.duckdb"
    os.replace(snap.path, kept)
    os.chmod(kept, 0o444)  # snapshots (and the serving file, same inode) are never written again
    _fsync(keep_dir)
    _swap_in(paths, kept)
    for old in list_snapshots(paths)[: -keep_count()]:
        old.unlink(missing_ok=True)
    _log(
        paths, {"event": "publish", "snapshot_id": snap.snapshot_id, "run_id": run_id, "tables": snap.tables}
    )
    return Snapshot(snap.snapshot_id, paths.serving, snap.tables)


def rollback(paths: Paths, to: str | None = None) -> str:
    """Serve the snapshot before the current one (or `to`); returns the snapshot id now serving."""
    snaps = list_snapshots(paths)
    if not snaps:
        raise UserError(f"no kept snapshots under {_snapshots_dir(paths)}: nothing to roll back to")
    ids = [p.stem for p in snaps]
    if to:
        matches = [i for i in ids if i == to or i.startswith(to)]
        if len(matches) != 1:
            raise UserError(f"snapshot {to!r} not found (or ambiguous); kept: {', '.join(ids)}")
        target = matches[0]
    else:
        current = current_snapshot_id(paths)
        older = [i for i in ids if current is None or i < current]
        if not older:
            raise UserError(f"no snapshot older than the one serving ({current}); kept: {', '.join(ids)}")
        target = older[-1]
    _swap_in(paths, _snapshots_dir(paths) / f"{target}.duckdb")
    _log(paths, {"event": "rollback", "snapshot_id": target})
    return target


def cleanup_temp_files(paths: Paths) -> list[Path]:
    """Remove temp files a killed run left behind (they were never visible to readers)."""
    removed = []
    if paths.serving_dir.exists():
        for p in list(paths.serving_dir.glob("serving.duckdb.tmp-*")) + list(
            paths.serving_dir.glob(".serving.duckdb.swap-*")
        ):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
