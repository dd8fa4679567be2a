"""Publish the `marts` schema as an atomic serving snapshot, keep the last N, roll back.

Superset and analysts only ever open ``<data-dir>/serving/serving.duckdb`` read-only. It is never
written in place: a run builds a fresh file beside it, checkpoints and closes it (no ``.wal``),
fsyncs it and swaps it in with ``os.replace``. A reader that opened the old file keeps reading the
old inode; a reader opening after the rename sees the new one; nobody ever sees a mix or hits the
warehouse writer's lock. Every snapshot also stays under ``serving/snapshots/`` (hard link, no
copy) so ``callcenter rollback`` is one more rename.

Publishing is incremental: the new file starts as a byte copy of the snapshot serving now, and
only what differs from it is written again. What changed is decided by a content fingerprint per
table, computed in the warehouse and stored with each snapshot in ``marts.publish_info``: the
column names and types in order, the row count, and the sum and xor of a 64-bit hash of every
row. Any inserted, deleted or rewritten row (the FCR recompute window rewrites rows in place)
changes it unless 64-bit row hashes collide. A changed table with a ``report_date`` column is
patched: the same fingerprint per report date on both sides (warehouse, copied snapshot) names
the dates whose rows differ, and within those dates only the rows whose hash the other side lacks
are deleted and inserted (FCR rewrites one old contact per caller on hundreds of dates). Other
changed tables and new tables are copied whole; tables gone from the warehouse are dropped. A
SERVING_ORDER table is sorted as a whole when copied; a patch appends its new dates' rows sorted
the same way (zonemaps still skip most of them), and once the rows appended since its last sort
pass 10 % of the table (about a month of days) it is copied and sorted whole again — re-sorting
every row on every publish would make a new day's publish grow with history. A snapshot without fingerprints (older code),
a copy with more free space than data, or ``full=True`` rebuilds every table into a new file.

The snapshot is shaped for dashboards that open a fresh read-only connection per chart query:
small row groups and a few tables stored in the order their charts read them (zonemaps then skip
most of a table). That is physical layout only: publishing copies the marts, every mart keeps its
columns and rows (docs/marts.md), and any table a dashboard reads is a dbt mart.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from callcenter.config import Paths, duckdb_memory_limit
from callcenter.errors import UserError

PUBLISHED_SCHEMA = "marts"
PUBLISH_INFO_TABLE = "publish_info"
KEEP_ENV = "CALLCENTER_SERVING_KEEP"
DEFAULT_KEEP = 5

# DuckDB's default is 122,880 rows: a 1M-row table is then ~8 row groups, too coarse for zonemaps
# to skip anything in a "latest 100 abandoned contacts" top-N. 16,384 lets it read 1-2 of ~65.
SERVING_ROW_GROUP_SIZE = 16_384
# Physical order of published tables (their rows and columns are unchanged): outcome first so an
# outcome filter reads one run of row groups, newest first so a top-N by time stops early (the
# dashboards' "latest abandoned contacts" reads fct_abandoned_stints, ~10x smaller: on the 10M-row
# stints table the top-N still walked every row group's metadata, ~30 ms on a fresh connection).
SERVING_ORDER = {
    "fct_queue_stints": "outcome, interval_start_local desc",
    "fct_abandoned_stints": "interval_start_local desc",
}
# A changed mart with this column is patched in the copied snapshot:
# only the values whose rows differ are deleted and inserted again (a new day: the last few dates).
PARTITION_COLUMN = "report_date"
# A SERVING_ORDER table is sorted whole again once the rows appended by patches since its last
# sort pass this share of it. The counts live beside the snapshots (the serving file holds only
# marts), keyed by snapshot id, so a rollback starts again from that snapshot's own counts.
RESORT_AFTER_APPENDED_SHARE = 0.10
APPENDED_STATE_FILE = "appended_since_sort.json"

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
    copied: tuple[str, ...] = field(default=())  # tables copied from the warehouse (the rest were kept)
    incremental: bool = False  # started from the previous snapshot's file
    patched: dict[str, int] = field(default_factory=dict)  # table -> partitions (report dates) replaced
    # fingerprint per report date of each dated table (stored beside the kept snapshot)
    by_date: dict = field(default_factory=dict, repr=False, compare=False)


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


def table_fingerprints(con: duckdb.DuckDBPyConnection, catalog: str, tables: list[str]) -> dict[str, str]:
    """Content fingerprint of each table of schema `marts` in `catalog`, in one scan per table.

    Columns (name and type, in order), row count, and the sum and xor of a 64-bit hash of every
    row: independent of row order (a sorted serving table and its warehouse mart agree), changed
    by any inserted, deleted or rewritten row unless row hashes collide.
    """
    return fingerprints_by_date(con, catalog, tables, table_columns(con, catalog))[0]


# Fingerprint of the rows of one report date: (row count, sum of row hashes, xor of row hashes).
PartFingerprint = tuple[int, int, int]


def _dated(columns: list[tuple[str, str]]) -> bool:
    return (PARTITION_COLUMN, "DATE") in columns


def fingerprints_by_date(
    con: duckdb.DuckDBPyConnection, catalog: str, tables: list[str], columns: dict[str, list[tuple[str, str]]]
) -> tuple[dict[str, str], dict[str, dict[date | None, PartFingerprint]]]:
    """`table_fingerprints` of `tables`, and for each table with a DATE `report_date` the same
    fingerprint per report date, from one scan per table (the table's is the per-date ones added up:
    counts and sums add, xors xor)."""
    if not tables:
        return {}, {}
    parts = []
    for table in tables:
        row_hash, dated = _row_hash(columns[table]), _dated(columns[table])
        parts.append(
            f"select {_sql_text(table)} as t, {_quote(PARTITION_COLUMN) if dated else 'null::date'} as part, "
            f"count(*) as n, sum({row_hash}::hugeint) as s, bit_xor({row_hash}) as x "
            f"from {catalog}.{PUBLISHED_SCHEMA}.{_quote(table)}" + (" group by 2" if dated else "")
        )
    totals = {t: [0, 0, 0] for t in tables}
    by_date: dict[str, dict[date | None, PartFingerprint]] = {t: {} for t in tables if _dated(columns[t])}
    for table, part, n, total, xor in con.execute(" union all ".join(parts)).fetchall():
        fp = (n, total or 0, xor or 0)
        if table in by_date:
            by_date[table][part] = fp
        acc = totals[table]
        acc[0], acc[1], acc[2] = acc[0] + fp[0], acc[1] + fp[1], acc[2] ^ fp[2]
    fingerprints = {t: f"{n}/{total}/{xor}/{_shape(columns[t])}" for t, (n, total, xor) in totals.items()}
    return fingerprints, by_date


def _partitions_file(paths: Paths, snapshot_id: str) -> Path:
    return _snapshots_dir(paths) / f"{snapshot_id}.partitions.json"


def _write_partitions(path: Path, by_date: dict[str, dict[date | None, PartFingerprint]]) -> None:
    doc = {
        t: [[None if d is None else d.isoformat(), *fp] for d, fp in parts.items()]
        for t, parts in by_date.items()
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, sort_keys=True))
    os.replace(tmp, path)


def _read_partitions(
    path: Path, fingerprints: dict[str, str]
) -> dict[str, dict[date | None, PartFingerprint]]:
    """Per-date fingerprints stored with a snapshot, for the tables whose per-date values add up to
    that snapshot's table fingerprint (`fingerprints`, from its publish_info); a missing or
    unreadable file gives none (the snapshot's rows are then fingerprinted by date instead)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for table, rows in doc.items():
        parts = {None if d is None else date.fromisoformat(d): (n, s, x) for d, n, s, x in rows}
        n, total, xor = 0, 0, 0
        for pn, ps, px in parts.values():
            n, total, xor = n + pn, total + ps, xor ^ px
        if table in fingerprints and fingerprints[table].split("/", 3)[:3] == [str(n), str(total), str(xor)]:
            out[table] = parts
    return out


def table_columns(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[tuple[str, str]]]:
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? order by table_name, column_index",
        [catalog, PUBLISHED_SCHEMA],
    ).fetchall():
        columns.setdefault(table, []).append((column, data_type))
    return columns


def _row_hash(columns: list[tuple[str, str]]) -> str:
    return f"hash({', '.join(_quote(c) for c, _ in columns)})"


def _shape(columns: list[tuple[str, str]]) -> str:
    return ",".join(f"{c}:{t}" for c, t in columns)


def _fingerprint_shape(fingerprint: str) -> str:
    return fingerprint.split("/", 3)[3]


def _changed_partitions(con: duckdb.DuckDBPyConnection, table: str, columns: list[tuple[str, str]]) -> list:
    """Values of PARTITION_COLUMN whose rows differ between the warehouse mart and the snapshot's
    copy (count, sum and xor of the row hashes of that value's rows)."""
    part, h, q = _quote(PARTITION_COLUMN), _row_hash(columns), f"{PUBLISHED_SCHEMA}.{_quote(table)}"
    per_part = f"select {part} as part, count(*) as n, sum({h}::hugeint) as s, bit_xor({h}) as x from {{}}.{q} group by 1"
    return [
        r[0]
        for r in con.execute(
            f"select part from ({per_part.format('wh')}) as w full outer join ({per_part.format('serving')}) as v "
            "using (part) where w.n is distinct from v.n or w.s is distinct from v.s or w.x is distinct from v.x"
        ).fetchall()
    ]


def _partition_filter(parts: list) -> tuple[str, list]:
    """SQL predicate (one `?`) selecting the rows of these PARTITION_COLUMN values, and its argument."""
    part = _quote(PARTITION_COLUMN)
    where = f"{part} in (select unnest(?))" + (f" or {part} is null" if None in parts else "")
    return where, [[v for v in parts if v is not None]]


def _serving_order_clause(table: str) -> str:
    """` order by ...` for a SERVING_ORDER table, else empty."""
    return f" order by {SERVING_ORDER[table]}" if table in SERVING_ORDER else ""


def _replace_partitions(con: duckdb.DuckDBPyConnection, table: str, parts: list) -> int:
    """Delete the snapshot's rows of these partition values and insert the warehouse's (in the
    table's serving order, if it has one); returns the rows inserted."""
    q = f"{PUBLISHED_SCHEMA}.{_quote(table)}"
    where, args = _partition_filter(parts)
    con.execute(f"delete from serving.{q} where {where}", args)
    (inserted,) = con.execute(
        f"insert into serving.{q} select * from wh.{q} where {where}{_serving_order_clause(table)}", args
    ).fetchone()
    return inserted


def _patch_partitions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[tuple[str, str]],
    parts: list,
    expected: dict[date | None, PartFingerprint],
) -> int:
    """Make the snapshot's rows of these partition values the warehouse's, row by row; returns the
    rows inserted.

    The snapshot's rows whose hash none of the warehouse's rows of those values has are deleted, and
    the warehouse's rows whose hash none of the snapshot's has are inserted: a recompute window that
    rewrites a few rows on many dates (FCR gives an old contact its caller's new next contact, on
    ~250 dates at 10M contacts) then costs those rows, not every row of those dates. Identical rows
    are the one case hash sets cannot count: a value whose patched row count differs from the
    warehouse's (`expected`, its per-value fingerprints) is replaced whole instead.
    """
    q, h = f"{PUBLISHED_SCHEMA}.{_quote(table)}", _row_hash(columns)
    if not con.execute(
        "select count(*) from duckdb_tables() where database_name = 'wh' and schema_name = ? and table_name = ?",
        [PUBLISHED_SCHEMA, table],
    ).fetchone()[0]:  # a view has no rowid
        return _replace_partitions(con, table, parts)
    where, args = _partition_filter(parts)
    for side in ("wh", "serving"):  # each side's rows hashed once, found again by rowid
        con.execute(
            f"create or replace temp table publish_{side}_rows as "
            f"select rowid as row_id, {_quote(PARTITION_COLUMN)} as part, {h} as h from {side}.{q} where {where}",
            args,
        )
    con.execute(
        "create or replace temp table publish_deleted as "
        "select row_id, part from publish_serving_rows anti join publish_wh_rows using (h)"
    )
    con.execute(
        "create or replace temp table publish_inserted as "
        "select row_id, part from publish_wh_rows anti join publish_serving_rows using (h)"
    )
    con.execute(f"delete from serving.{q} where rowid in (select row_id from publish_deleted)")
    (inserted,) = con.execute(
        f"insert into serving.{q} select * from wh.{q} "
        f"where rowid in (select row_id from publish_inserted){_serving_order_clause(table)}"
    ).fetchone()
    patched_counts = dict(
        con.execute(
            "select part, sum(n) from (select part, count(*) as n from publish_serving_rows group by part "
            "union all select part, -count(*) from publish_deleted group by part "
            "union all select part, count(*) from publish_inserted group by part) group by part"
        ).fetchall()
    )
    for temp in ("publish_wh_rows", "publish_serving_rows", "publish_deleted", "publish_inserted"):
        con.execute(f"drop table temp.main.{temp}")
    miscounted = [p for p in parts if patched_counts.get(p, 0) != expected.get(p, (0, 0, 0))[0]]
    if miscounted:
        inserted += _replace_partitions(con, table, miscounted)
    return inserted


def _appended_state(paths: Paths) -> dict[str, dict[str, int]]:
    try:
        return json.loads((paths.serving_dir / APPENDED_STATE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _record_appended(paths: Paths, snapshot_id: str, appended: dict[str, int]) -> None:
    """Keep the counts of the snapshots still on disk (and this one); write atomically."""
    state = _appended_state(paths)
    state[snapshot_id] = appended
    on_disk = {p.name.split(".", 1)[0] for p in _snapshots_dir(paths).glob("*.duckdb")} | {snapshot_id}
    state = {k: v for k, v in state.items() if k in on_disk}
    tmp = paths.serving_dir / f"{APPENDED_STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state, sort_keys=True))
    os.replace(tmp, paths.serving_dir / APPENDED_STATE_FILE)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _previous_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """Fingerprint per table of the snapshot attached as `serving`; None when it cannot be trusted
    for an incremental publish (no fingerprints, its tables disagree with its publish_info, or
    more free space than data in the file)."""
    used, free = con.execute(
        "select used_blocks, free_blocks from pragma_database_size() where database_name = 'serving'"
    ).fetchone()
    if free > used:  # dropped tables leave free blocks that later publishes reuse; a full rewrite compacts
        return None
    info_columns = {
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'serving' and schema_name = ? "
            "and table_name = ?",
            [PUBLISHED_SCHEMA, PUBLISH_INFO_TABLE],
        ).fetchall()
    }
    if "content_fingerprint" not in info_columns:
        return None
    previous = dict(
        con.execute(
            f"select table_name, content_fingerprint from serving.{PUBLISHED_SCHEMA}.{PUBLISH_INFO_TABLE}"
        ).fetchall()
    )
    if set(previous) != set(published_tables(con, "serving")) or None in previous.values():
        return None
    return previous


def _start_from_current(paths: Paths, tmp: Path) -> bool:
    """Copy the file serving now to `tmp` (the kernel copies the bytes; the copy is writable)."""
    try:
        shutil.copyfile(paths.serving, tmp)  # sendfile on Linux; not the 0444 mode
    except FileNotFoundError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def build_snapshot(paths: Paths, run_id: str, *, now: datetime | None = None, full: bool = False) -> Snapshot:
    """Write the temp serving file for this run (not yet visible to readers).

    Starts from a copy of the snapshot serving now and copies again only the tables whose content
    fingerprint changed (``full=True``, or a previous snapshot that cannot be trusted: every table).
    """
    if not paths.warehouse.exists():
        raise PublishError(f"no warehouse at {paths.warehouse}: run `callcenter build` first")
    paths.serving_dir.mkdir(parents=True, exist_ok=True)
    snapshot_id = new_snapshot_id(run_id, now)
    tmp = paths.serving_dir / f"serving.duckdb.tmp-{snapshot_id}"
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    published_at = (now or datetime.now(UTC)).replace(tzinfo=None)
    incremental = not full and _start_from_current(paths, tmp)
    counts: dict[str, int] = {}
    copied: list[str] = []
    patched: dict[str, int] = {}
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")  # a build log, not a terminal
    con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")  # the sorted copy spills beyond it
    try:
        previous = previous_id = None
        if incremental:
            con.execute(f"attach '{tmp}' as serving (row_group_size {SERVING_ROW_GROUP_SIZE})")
            previous = _previous_fingerprints(con)
            previous_id = (
                previous
                and con.execute(
                    f"select any_value(snapshot_id) from serving.{PUBLISHED_SCHEMA}.{PUBLISH_INFO_TABLE}"
                ).fetchone()[0]
            )
            if previous is None:  # start from an empty file instead
                con.execute("detach serving")
                tmp.unlink()
                incremental = False
        if not incremental:
            con.execute(f"attach '{tmp}' as serving (row_group_size {SERVING_ROW_GROUP_SIZE})")
            con.execute(f"create schema serving.{PUBLISHED_SCHEMA}")
        con.execute("use serving")
        con.execute(f"attach '{paths.warehouse}' as wh (read_only)")
        problems = privacy_violations(con, "wh")
        if problems:
            raise PublishError("refusing to publish: " + "; ".join(problems))
        tables = published_tables(con, "wh")
        if not tables:
            raise PublishError(f"warehouse has no tables in schema {PUBLISHED_SCHEMA}: nothing to publish")
        # one transaction: the fingerprints describe exactly the rows copied
        con.execute("begin")
        columns = table_columns(con, "wh")
        fingerprints, by_date = fingerprints_by_date(con, "wh", tables, columns)
        # the per-date fingerprints of the snapshot copied (stored beside it when it was published)
        previous_by_date = (
            _read_partitions(_partitions_file(paths, previous_id), previous) if previous_id else {}
        )
        # rows appended by patches since each sorted table's last whole sort, for the snapshot copied
        appended = dict(_appended_state(paths).get(previous_id, {})) if previous_id else {}
        kept = set(published_tables(con, "serving")) if incremental else set()
        for gone in sorted(kept - set(tables)) + ([PUBLISH_INFO_TABLE] if incremental else []):
            con.execute(f"drop table if exists {PUBLISHED_SCHEMA}.{_quote(gone)}")
        for table in tables:
            q = f"{PUBLISHED_SCHEMA}.{_quote(table)}"
            before = (previous or {}).get(table) if table in kept else None
            if before == fingerprints[table]:
                counts[table] = int(fingerprints[table].split("/", 1)[0])
                continue
            if (
                before is not None
                and _fingerprint_shape(before) == _fingerprint_shape(fingerprints[table])
                and PARTITION_COLUMN in {c for c, _ in columns[table]}
                and (
                    table not in SERVING_ORDER
                    or table in appended  # appended rows known since the last whole sort
                    and appended[table] <= RESORT_AFTER_APPENDED_SHARE * int(before.split("/", 1)[0])
                )
            ):
                if table in previous_by_date and table in by_date:
                    before_dates, now_dates = previous_by_date[table], by_date[table]
                    changed = [
                        d
                        for d in before_dates.keys() | now_dates.keys()
                        if before_dates.get(d) != now_dates.get(d)
                    ]
                else:
                    changed = _changed_partitions(con, table, columns[table])
                inserted = _patch_partitions(con, table, columns[table], changed, by_date.get(table, {}))
                if table in SERVING_ORDER:
                    appended[table] += inserted
                patched[table] = len(changed)
                counts[table] = int(fingerprints[table].split("/", 1)[0])
                continue
            con.execute(f"drop table if exists {q}")
            # Views become tables: serving must not depend on schemas it does not contain.
            con.execute(f"create table {q} as select * from wh.{q}{_serving_order_clause(table)}")
            counts[table] = con.execute(f"select count(*) from {q}").fetchone()[0]
            copied.append(table)
            if table in SERVING_ORDER:
                appended[table] = 0
        con.execute(
            f"create table {PUBLISHED_SCHEMA}.{PUBLISH_INFO_TABLE} (snapshot_id varchar, run_id varchar, "
            "published_at timestamp, table_name varchar, row_count bigint, content_fingerprint varchar)"
        )
        rows = [(snapshot_id, run_id, published_at, t, counts[t], fingerprints[t]) for t in tables]
        con.execute(
            f"insert into {PUBLISHED_SCHEMA}.{PUBLISH_INFO_TABLE} values "
            + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows)),
            [v for row in rows for v in row],
        )
        con.execute("commit")
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
    _record_appended(paths, snapshot_id, {t: n for t, n in appended.items() if t in counts})
    return Snapshot(snapshot_id, tmp, counts, tuple(copied), incremental, patched, by_date)


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


def publish(paths: Paths, run_id: str, *, now: datetime | None = None, full: bool = False) -> Snapshot:
    """Build the snapshot, keep it under snapshots/, swap it in, prune old snapshots."""
    snap = build_snapshot(paths, run_id, now=now, full=full)
    keep_dir = _snapshots_dir(paths)
    keep_dir.mkdir(parents=True, exist_ok=True)
    kept = keep_dir / f"{snap.snapshot_id}.duckdb"
    _write_partitions(_partitions_file(paths, snap.snapshot_id), snap.by_date)
    os.replace(snap.path, kept)
    os.chmod(kept, 0o444)  # snapshots (and the serving file, same inode) are never written again
    _fsync(keep_dir)
    _swap_in(paths, kept)
    for old in list_snapshots(paths)[: -keep_count()]:
        old.unlink(missing_ok=True)
        _partitions_file(paths, old.stem).unlink(missing_ok=True)
    _log(
        paths,
        {
            "event": "publish",
            "snapshot_id": snap.snapshot_id,
            "run_id": run_id,
            "tables": snap.tables,
            "incremental": snap.incremental,
            "copied": list(snap.copied),
            "patched": snap.patched,
        },
    )
    return Snapshot(
        snap.snapshot_id,
        paths.serving,
        snap.tables,
        snap.copied,
        snap.incremental,
        snap.patched,
        snap.by_date,
    )


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
