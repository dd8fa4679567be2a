"""Load landing files into the raw layer: one DuckDB transaction per file, a sha256 manifest, row accounting.

Every reader turns one file into staged rows and hands them to the helpers here, which quarantine
rows that carry a reason, drop natural-key duplicates (within the file and against what is
already loaded) and insert the rest. A file that cannot be read raises IngestError: its
transaction is rolled back, so the warehouse is exactly as before.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from callcenter.config import duckdb_memory_limit
from ingestion.errors import IngestError
from ingestion.manifest import Manifest
from ingestion.pseudonymise import Pseudonymiser
from ingestion.schema import NATURAL_KEYS, RAW_TABLES, create_raw_tables
from ingestion.util import sha256_file, utc_now

FORMATS = ["auto", "canonical", "asterisk-queue-log", "asterisk-cdr", "amazon-connect-ctr", "mapped"]

# Landing folders (docs/data-contracts.md) in load order.
LANDING_SOURCES = [
    "roster",
    "schedules",
    "contact_segments",
    "agent_states",
    "asterisk",
    "amazon_connect",
    "customer_surveys",
    "stress_survey",
    "survey_waves",
]


@dataclass
class FileResult:
    path: Path
    source: str
    format: str
    sha256: str
    status: str  # loaded | already_loaded | rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    message: str = ""
    tables: dict[str, int] = field(default_factory=dict)  # raw table -> rows written (incl. derived)


@dataclass
class Counts:
    """What a reader reports for one file. rows_read must equal loaded + quarantined + duplicate."""

    source: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    notes: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)

    def add_table(self, table: str, n: int) -> None:
        self.tables[table] = self.tables.get(table, 0) + n


@dataclass
class FileContext:
    con: duckdb.DuckDBPyConnection
    path: Path
    source_file: str  # as stored in lineage columns: relative to the data dir when possible
    pseudonymiser: Pseudonymiser
    hmac_key: bytes
    loaded_at: datetime
    mapping: Path | None = None

    def reject(self, problem: str, line: int | None = None) -> IngestError:
        return IngestError(self.source_file, problem, line)


_PA_TYPES = {
    "varchar": pa.string(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
}


# Building pyarrow arrays from Python objects makes pyarrow import pandas (it probes for it): a
# fixed 0.4 s of CPU (2+ s where no bytecode is cached) that made a 57-row roster file cost 2 s.
# Until a process has staged this many rows, and while pandas is not loaded anyway, rows go to
# DuckDB as list parameters instead: same values and types, no import, but ~2.5x pyarrow's cost
# per row (5.4 vs 2.1 us, so the import pays for itself after ~150k rows). Counted per process,
# not per file: a year of 4k-row survey and schedule files (311k rows at 1M contacts, 2.75M at
# 10M) pays the import once, while one new day's files stay on lists.
# A list parameter costs per value (~2.3 us per text cell measured on a 10-column staging, against
# ~0.5 us through pyarrow), so one staging of more than LIST_STAGE_MAX_VALUES cells (a year of
# survey sheets in one batch) goes through pyarrow whatever the process staged before.
LIST_STAGE_MAX_ROWS = 150_000
LIST_STAGE_MAX_VALUES = 250_000
_rows_staged = 0


def stage_rows(
    con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]
) -> int:
    """Create temp table `name` with `columns` from Python tuples (for readers that parse in Python)."""
    rows = list(rows)
    stage_columns(con, name, columns, _by_column(columns, rows))
    return len(rows)


def stage_columns(
    con: duckdb.DuckDBPyConnection,
    name: str,
    columns: Sequence[tuple[str, str]],
    values: dict[str, list],
    *,
    plain: bool = False,
) -> None:
    """Create temp table `name` with `columns` from one Python list per column (equal lengths).

    `plain`: the caller vouches that every value is a str or None (varchar), a bool (boolean) or
    an int (integer, bigint), never None in the last two. Those go through NumPy object arrays,
    which DuckDB scans without pandas at ~0.2 us a value (lists ~2.3 us, pyarrow ~0.5 us plus
    the pandas import)."""
    global _rows_staged
    n = len(values[columns[0][0]]) if columns else 0
    if plain:
        import numpy as np

        dtypes = {"varchar": object, "boolean": bool, "integer": np.int64, "bigint": np.int64}
        arrays = {col: np.array(values[col], dtype=dtypes[typ]) for col, typ in columns}
        con.register("_stage_numpy", arrays)
        try:
            select = ", ".join(f'cast("{col}" as {typ}) as "{col}"' for col, typ in columns)
            con.execute(f"create or replace temp table {name} as select {select} from _stage_numpy")
        finally:
            con.unregister("_stage_numpy")
        return
    _rows_staged += n
    small = _rows_staged <= LIST_STAGE_MAX_ROWS and n * len(columns) <= LIST_STAGE_MAX_VALUES
    if small and "pandas" not in sys.modules:
        _stage_lists(con, name, columns, values)
    else:
        _stage_arrow(con, name, columns, values)


def _by_column(columns: Sequence[tuple[str, str]], rows: list[Sequence]) -> dict[str, list]:
    return {col: [r[i] for r in rows] for i, (col, _) in enumerate(columns)}


def _stage_as_lists(con, name: str, columns: Sequence[tuple[str, str]], rows: list[Sequence]) -> None:
    _stage_lists(con, name, columns, _by_column(columns, rows))


def _stage_as_arrow(con, name: str, columns: Sequence[tuple[str, str]], rows: list[Sequence]) -> None:
    _stage_arrow(con, name, columns, _by_column(columns, rows))


def _stage_lists(con, name: str, columns: Sequence[tuple[str, str]], values: dict[str, list]) -> None:
    # unnest() of several lists in one select zips them: row i takes element i of each.
    select = ", ".join(f'unnest(?::{typ}[]) as "{col}"' for col, typ in columns)
    con.execute(f"create or replace temp table {name} as select {select}", [values[c] for c, _ in columns])


def _stage_arrow(con, name: str, columns: Sequence[tuple[str, str]], values: dict[str, list]) -> None:
    arrays = {col: pa.array(values[col], _PA_TYPES[typ]) for col, typ in columns}
    con.register("_stage_arrow", pa.table(arrays))
    try:
        con.execute(f"create or replace temp table {name} as select * from _stage_arrow")
    finally:
        con.unregister("_stage_arrow")


def quarantine_staged(ctx: FileContext, source: str, stage: str, reason_col: str = "reject_reason") -> int:
    """Copy rows of `stage` that carry a reason into raw.quarantine (stage has source_line, raw_record)."""
    n = ctx.con.execute(
        f"""insert into raw.quarantine
            select ?, ?, source_line, {reason_col}, raw_record, ? from {stage}
            where {reason_col} is not null""",
        [source, ctx.source_file, ctx.loaded_at],
    ).fetchone()[0]
    return int(n)


def quarantine_rows(ctx: FileContext, source: str, rows: Sequence[tuple[int, str, str]]) -> int:
    """rows: (source_line, reason, masked raw record)."""
    if not rows:
        return 0
    ctx.con.executemany(
        "insert into raw.quarantine values (?, ?, ?, ?, ?, ?)",
        [(source, ctx.source_file, line, reason, raw, ctx.loaded_at) for line, reason, raw in rows],
    )
    return len(rows)


def _sql_literal(value) -> str | None:
    """`value` (from DuckDB) as a SQL literal, or None when it cannot bound a zonemap filter."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return None
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return repr(value)
    return None


def key_range_filter(con: duckdb.DuckDBPyConnection, batch: str, key: Sequence[str], alias: str = "t") -> str:
    """`alias.k between <min> and <max>` for every key column of `batch`, as constants.

    Exact (a row matching a key of the batch lies inside the batch's range on every key column),
    and as constants DuckDB prunes row groups and column segments by their zonemaps, so the
    existence check reads only the part of the raw table the batch's keys can be in, not all of
    history. Rows arrive roughly in time order, so a file's timestamps (and ids issued in time
    order) cover a few segments. A batch whose keys are all null on a column matches nothing.
    """
    aggs = ", ".join(f"min({k}), max({k})" for k in key)
    bounds = con.execute(f"select {aggs} from {batch}").fetchone()
    preds = []
    for i, k in enumerate(key):
        lo, hi = bounds[2 * i], bounds[2 * i + 1]
        if lo is None:
            return "false"
        lo_sql, hi_sql = _sql_literal(lo), _sql_literal(hi)
        if lo_sql is not None and hi_sql is not None:
            preds.append(f"{alias}.{k} between {lo_sql} and {hi_sql}")
    return " and ".join(preds) or "true"


def first_of_key_sql(
    con: duckdb.DuckDBPyConnection, stage: str, where: str, key: Sequence[str], order_by: str
) -> str:
    """A select of the rows of `stage` passing `where`, keeping only the first row (by `order_by`)
    of each natural key. The window runs only over keys that occur more than once (found by a
    group-by on the key columns alone, into temp table _dup_keys): a window over every row
    carries every column through its partition and sort, about a third of an insert's CPU on a
    batch where (as usual) no key repeats. Null keys count as equal, as in a window partition."""
    keys = ", ".join(key)
    con.execute(
        f"""create or replace temp table _dup_keys as
            select {keys} from {stage} where {where} group by all having count(*) > 1"""
    )
    if not con.execute("select count(*) from _dup_keys").fetchone()[0]:
        return f"select * from {stage} where {where}"
    same = " and ".join(f"r.{k} is not distinct from d.{k}" for k in key)
    return f"""select r.* from {stage} r anti join _dup_keys d on {same} where {where}
               union all
               (select r.* from {stage} r semi join _dup_keys d on {same} where {where}
                qualify row_number() over (partition by {", ".join("r." + k for k in key)} order by {order_by}) = 1)"""


def insert_new(
    ctx: FileContext,
    table: str,
    stage: str,
    *,
    where: str = "reject_reason is null",
    order_by: str = "source_line",
    key: Sequence[str] | None = None,
    target: str | None = None,
    columns: Sequence[str] | None = None,
    valid: int | None = None,
) -> tuple[int, int]:
    """Insert the valid rows of `stage` into raw.`table` unless their natural key is already there.

    Within the file the first row of a key (by `order_by`) wins; the others are duplicates. The
    file's rows are materialised once (window), then anti-joined with only the rows of the raw
    table inside the batch's key range (key_range_filter), so the cost of a file does not grow
    with the history already loaded. `valid` (rows passing `where`) may be given when the caller
    knows it. Returns (loaded, duplicate).
    """
    key = list(key or NATURAL_KEYS[table])
    columns = list(columns or [c for c, _ in RAW_TABLES[table]])
    target = target or f"raw.{table}"
    con = ctx.con
    keys = ", ".join(key)
    con.execute(
        f"create or replace temp table _first_of_key as {first_of_key_sql(con, stage, where, key, order_by)}"
    )
    if valid is None:
        valid = con.execute(f"select count(*) from {stage} where {where}").fetchone()[0]
    match = " and ".join(f"t.{k} = r.{k}" for k in key)
    in_range = key_range_filter(con, "_first_of_key", key)
    col_list = ", ".join(columns)
    loaded = con.execute(
        f"""insert into {target} ({col_list}, source_file, source_line, loaded_at)
            select {", ".join(f"r.{c}" for c in columns)}, ?, r.source_line, ?
            from _first_of_key r
            anti join (select {keys} from {target} t where {in_range}) t on {match}""",
        [ctx.source_file, ctx.loaded_at],
    ).fetchone()[0]
    con.execute("drop table _first_of_key")
    con.execute("drop table _dup_keys")
    return int(loaded), int(valid - loaded)


def insert_new_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    stage: str,
    *,
    order_by: str,
    loaded_at: datetime,
    where: str = "reject_reason is null",
) -> dict[str, int]:
    """insert_new for a batch of files: `stage` has per-row `_file` (load order) and `source_file`.

    A key's first row by `order_by` wins across the whole batch, as loading the files in turn
    would decide. One insert (first of key, range-pruned anti-join, in load order); only the keys
    that repeat are materialised. Returns rows loaded per source_file."""
    key = NATURAL_KEYS[table]
    columns = [c for c, _ in RAW_TABLES[table]]
    keys = ", ".join(key)
    match = " and ".join(f"t.{k} = r.{k}" for k in key)
    # Bounds over all valid rows: a superset of the first-of-key rows' range, so still exact.
    in_range = key_range_filter(con, f"(select * from {stage} where {where}) as valid", key)
    col_list = ", ".join(columns)
    con.execute(
        f"""insert into raw.{table} ({col_list}, source_file, source_line, loaded_at)
            select {", ".join(f"r.{c}" for c in columns)}, r.source_file, r.source_line, ?
            from ({first_of_key_sql(con, stage, where, key, order_by)}) r
            anti join (select {keys} from raw.{table} t where {in_range}) t on {match}
            order by r._file, r.source_line""",
        [loaded_at],
    )
    con.execute("drop table _dup_keys")
    loaded = con.execute(
        f"""select source_file, count(*) from raw.{table}
            where loaded_at = ? and source_file in (select distinct source_file from {stage})
            group by source_file""",
        [loaded_at],
    ).fetchall()
    return {str(f): int(n) for f, n in loaded}


def _relative(path: Path, relative_to: Path | None) -> str:
    return SourceFileNames(relative_to)(path)


class SourceFileNames:
    """A file's name in lineage columns and the manifest: its resolved path relative to
    `relative_to` when inside it, else absolute. Folders are resolved once each, files only when
    they are symlinks themselves, so naming the whole landing history costs one lstat per file."""

    def __init__(self, relative_to: Path | None):
        self._root = Path(relative_to).resolve() if relative_to is not None else None
        self._folders: dict[Path, Path] = {}

    def __call__(self, path: Path) -> str:
        path = Path(path)
        if path.is_symlink():
            resolved = path.resolve()
        else:
            folder = self._folders.get(path.parent)
            if folder is None:
                folder = self._folders[path.parent] = path.parent.resolve()
            resolved = folder / path.name
        if self._root is not None:
            try:
                return resolved.relative_to(self._root).as_posix()
            except ValueError:
                pass
        return resolved.as_posix()


def _expand(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(
                sorted(
                    f
                    for f in p.rglob("*")
                    if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
                )
            )
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return files


def _already_loaded(con: duckdb.DuckDBPyConnection, sha: str, name: str) -> tuple[str, str, str] | None:
    """A file is identified by its content and its name: some exports carry meaning in the name
    (a roster's as-of date), so the same bytes under another name are loaded (and deduped by key)."""
    row = con.execute(
        """select file_path, source, format from raw.file_manifest
           where sha256 = ? and status = 'loaded' and regexp_extract(file_path, '[^/]+$') = ? limit 1""",
        [sha, name],
    ).fetchone()
    return tuple(row) if row else None


def _reader_for(fmt: str) -> Callable[[FileContext], Counts]:
    from ingestion.readers import amazon_connect, asterisk_cdr, asterisk_queue_log, canonical, mapped

    return {
        "canonical": canonical.read,
        "asterisk-queue-log": asterisk_queue_log.read,
        "asterisk-cdr": asterisk_cdr.read,
        "amazon-connect-ctr": amazon_connect.read,
        "mapped": mapped.read,
    }[fmt]


def _manifest_row(con, source_file, sha, source, fmt, counts, status, message, started) -> None:
    con.execute(
        "insert into raw.file_manifest values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source_file, sha, source, fmt,
            counts.rows_read if counts else 0, counts.rows_loaded if counts else 0,
            counts.rows_quarantined if counts else 0, counts.rows_duplicate if counts else 0,
            status, message, started, utc_now(),
        ],
    )  # fmt: skip


def _record_rejection(con, source_file, sha, fmt, message, started, manifest: Manifest | None = None) -> None:
    """The file's rows reach no table; the manifest keeps one line saying it was rejected and why
    (for the data-quality checks), once per file content and name however often it is retried."""
    if manifest is not None:
        seen = manifest.rejected_before(source_file, sha)
        manifest.mark_rejected(source_file, sha)
    else:
        seen = con.execute(
            "select 1 from raw.file_manifest where sha256 = ? and file_path = ? and status = 'rejected'",
            [sha, source_file],
        ).fetchone()
    if not seen:
        _manifest_row(con, source_file, sha, "", fmt, None, "rejected", message, started)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("rollback")
    con.execute("set TimeZone = 'UTC'")


def _load_one(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    hmac_key: bytes,
    pseudonymiser: Pseudonymiser,
    fmt: str,
    mapping: Path | None,
    relative_to: Path | None,
    sha: str | None = None,
    *,
    manifest: Manifest | None = None,
    source_file: str | None = None,
) -> FileResult:
    """Load one file in its own transaction. With `manifest` (ingest_paths) the already-loaded and
    rejected-before checks use it and it learns the outcome; without, they query the warehouse."""
    from ingestion.detect import detect_format

    source_file = source_file or _relative(path, relative_to)
    sha = sha or sha256_file(path)
    seen = (
        manifest.loaded_as(sha, path.name) if manifest is not None else _already_loaded(con, sha, path.name)
    )
    if seen is not None:
        return _already_loaded_result(path, source_file, sha, seen)
    started = utc_now()
    ctx = FileContext(con, path, source_file, pseudonymiser, hmac_key, started, mapping)
    actual_fmt = fmt
    con.execute("begin transaction")
    try:
        if fmt == "auto":
            actual_fmt = detect_format(path, source_file, mapping)
        counts = _reader_for(actual_fmt)(ctx)
        total = counts.rows_loaded + counts.rows_quarantined + counts.rows_duplicate
        if counts.rows_read != total:  # a reader bug, never a data problem: refuse rather than lie
            raise RuntimeError(
                f"{source_file}: row accounting broken: read {counts.rows_read} != "
                f"loaded {counts.rows_loaded} + quarantined {counts.rows_quarantined} "
                f"+ duplicate {counts.rows_duplicate}"
            )
        message = "; ".join(counts.notes)
        _manifest_row(con, source_file, sha, counts.source, actual_fmt, counts, "loaded", message, started)
        con.execute("commit")
    except (IngestError, duckdb.Error) as e:
        _rollback(con)
        if isinstance(e, IngestError):
            message = str(e)
        else:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            message = f"{source_file}: {first}"
        _record_rejection(con, source_file, sha, actual_fmt, message, started, manifest)
        return FileResult(path, "", actual_fmt, sha, "rejected", message=message)
    except BaseException:
        _rollback(con)
        raise
    if manifest is not None:
        manifest.mark_loaded(source_file, sha, counts.source, actual_fmt)
    return FileResult(
        path,
        counts.source,
        actual_fmt,
        sha,
        "loaded",
        counts.rows_read,
        counts.rows_loaded,
        counts.rows_quarantined,
        counts.rows_duplicate,
        message,
        dict(counts.tables),
    )


# Canonical files load in batches of up to this many files / bytes (one scan, one dedupe, one
# transaction). The byte cap bounds memory: a 30 MB batch of daily CSVs added ~180 MB to peak RSS.
BATCH_MAX_FILES = 64
BATCH_MAX_BYTES = 128 << 20
# .xlsx sheets of a batch wait in memory as Python cells (read once, by the batch candidate): at
# most this many rows (~100 MB of cells at 7 columns; a 10M year's weekly survey sheet is ~40k).
BATCH_MAX_SHEET_ROWS = 200_000


def _already_loaded_result(path: Path, source_file: str, sha: str, seen: tuple[str, str, str]) -> FileResult:
    seen_path, seen_source, seen_format = seen
    msg = "already loaded" + ("" if seen_path == source_file else f" as {seen_path}")
    return FileResult(path, seen_source, seen_format, sha, "already_loaded", message=msg)


def _batch_candidate(path: Path, source_file: str, fmt: str, mapping: Path | None):
    """(raw table, BatchFile) for a file (not loaded yet: the caller checked) that can load in a
    batch: canonical CSV/Parquet whose header the batch path accepts, or a CSV survey or schedule
    export DuckDB converts (readers.mapped_sql); None sends the file down the per-file path."""
    from ingestion.detect import detect_format
    from ingestion.readers import mapped_sql
    from ingestion.readers.canonical import BatchFile, batch_header

    if fmt not in ("auto", "canonical", "mapped"):
        return None
    try:
        detected = detect_format(path, source_file, mapping) if fmt == "auto" else fmt
    except IngestError:
        return None
    if detected == "mapped":
        bf = mapped_sql.candidate(path, source_file, mapping)
        return None if bf is None else (bf.table, bf)
    if mapping is not None or detected != "canonical":
        return None
    found = batch_header(path)
    if found is None:
        return None
    table, header, is_parquet = found
    return table, BatchFile(path, source_file, header, is_parquet, table)


def _fits(batch: list, table: str, bf, sha: str) -> bool:
    """Can `bf` join `batch`: same raw table, the batch's one CSV header (or Parquet column set;
    survey and schedule exports: any), not the same file content and name twice (the second is
    `already_loaded`), within the caps."""
    first = batch[0][0]
    if first.table != table or len(batch) >= BATCH_MAX_FILES:
        return False
    if (first.mapping is None) != (bf.mapping is None):
        return False
    if sum(b.path.stat().st_size for b, _ in batch) + bf.path.stat().st_size > BATCH_MAX_BYTES:
        return False
    if bf.mapping is not None:  # mapped exports: any mapping, header and file type of one raw table
        if sum(len(b.cells or ()) for b, _ in batch) + len(bf.cells or ()) > BATCH_MAX_SHEET_ROWS:
            return False
        return not any(other_sha == sha and other.path.name == bf.path.name for other, other_sha in batch)
    for other, other_sha in batch:
        if other_sha == sha and other.path.name == bf.path.name:
            return False
        if other.is_parquet == bf.is_parquet:
            same = other.header == bf.header if not bf.is_parquet else set(other.header) == set(bf.header)
            if not same:
                return False
    return True


_MANIFEST_TYPES = [
    "varchar", "varchar", "varchar", "varchar", "bigint", "bigint", "bigint", "bigint",
    "varchar", "varchar", "timestamp", "timestamp",
]  # fmt: skip


def _insert_manifest_lines(con: duckdb.DuckDBPyConnection, lines: list[tuple]) -> None:
    """Manifest lines in one statement (a prepared insert per line cost ~2 ms of CPU each: 0.8 s
    for a year of daily files)."""
    select = ", ".join(f"unnest(?::{t}[])" for t in _MANIFEST_TYPES)
    con.execute(
        f"insert into raw.file_manifest select {select}",
        [[line[i] for line in lines] for i in range(len(_MANIFEST_TYPES))],
    )


def _load_batch(
    con: duckdb.DuckDBPyConnection, batch: list, pseudonymiser: Pseudonymiser, manifest: Manifest
) -> list[FileResult] | None:
    """Load canonical files of one raw table (readers.canonical.read_batch), or CSV exports of one
    mapping (readers.mapped_sql.read_batch), in one transaction. Each file still gets its own
    manifest line and row accounting; the batch's time is shared among them by rows read. None
    (rolled back): load them one by one instead."""
    from ingestion.readers import mapped_sql
    from ingestion.readers.canonical import BatchFallback, read_batch

    files = [bf for bf, _ in batch]
    table = files[0].table
    fmt = "canonical" if files[0].mapping is None else "mapped"
    started = utc_now()
    con.execute("begin transaction")
    try:
        if fmt == "mapped":
            mapped_sql.read_batch(con, files, started)
        else:
            read_batch(con, table, files, pseudonymiser, started)
        for bf in files:
            c = bf.counts
            if c.rows_read != c.rows_loaded + c.rows_quarantined + c.rows_duplicate or c.rows_duplicate < 0:
                raise BatchFallback(f"{bf.source_file}: row accounting broken in the batch")
        finished = utc_now()
        total_rows = max(sum(bf.counts.rows_read for bf in files), 1)
        share_start, done_rows = started, 0
        lines = []
        for bf, sha in batch:
            done_rows += bf.counts.rows_read
            share_end = started + (finished - started) * (done_rows / total_rows)
            c = bf.counts
            if len(files) > 1:
                c.notes.append(f"loaded in a batch of {len(files)} files")
            lines.append((
                bf.source_file, sha, c.source, fmt, c.rows_read, c.rows_loaded,
                c.rows_quarantined, c.rows_duplicate, "loaded", "; ".join(c.notes), share_start, share_end,
            ))  # fmt: skip
            share_start = share_end
        _insert_manifest_lines(con, lines)
        con.execute("commit")
    except (BatchFallback, duckdb.Error, IngestError):
        _rollback(con)
        return None
    except BaseException:
        _rollback(con)
        raise
    for bf, sha in batch:
        manifest.mark_loaded(bf.source_file, sha, bf.counts.source, fmt)
    return [
        FileResult(
            bf.path, bf.counts.source, fmt, sha, "loaded", bf.counts.rows_read, bf.counts.rows_loaded,
            bf.counts.rows_quarantined, bf.counts.rows_duplicate, "; ".join(bf.counts.notes), dict(bf.counts.tables),
        )
        for bf, sha in batch
    ]  # fmt: skip


def connect(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    warehouse_path = Path(warehouse_path)
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse_path))
    con.execute("set TimeZone = 'UTC'")  # naive timestamps mean UTC everywhere in raw
    con.execute("set enable_progress_bar = false")  # our own progress bar, on stderr, when asked
    # Bounded memory on big files: DuckDB spills to <warehouse>.tmp beyond this.
    con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
    create_raw_tables(con)
    return con


def ingest_paths(
    warehouse_path: Path,
    paths: list[Path],
    hmac_key: bytes,
    *,
    fmt: str = "auto",
    mapping: Path | None = None,
    progress: bool = False,
    relative_to: Path | None = None,
    rehash: bool = False,
) -> list[FileResult]:
    """Load files (folders: every file inside) into the raw layer; one result per file, in order.

    What is already loaded is known from one read of the manifest, and a file whose size and mtime
    match its fingerprint is not read at all (ingestion/manifest.py), so the files loaded before
    cost a stat each. `rehash`: hash every file, trusting no fingerprint."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {FORMATS}")
    if mapping is not None and not Path(mapping).is_file():
        raise FileNotFoundError(f"{mapping}: no such mapping file")
    files = _expand(paths)
    pseudonymiser = Pseudonymiser(hmac_key)
    results: list[FileResult] = []
    names = SourceFileNames(relative_to)
    con = connect(warehouse_path)
    try:
        from ingestion.progress import FileProgress

        manifest = Manifest(con, trust_fingerprints=not rehash)
        with FileProgress(len(files), enabled=progress) as bar:
            batch: list = []

            def load(part: list) -> None:
                if len(part) == 1 and part[0][0].mapping is not None:
                    # A survey or schedule export: its candidate already read the sheet once.
                    bar.start(part[0][0].path)
                    loaded = _load_batch(con, part, pseudonymiser, manifest)
                    if loaded is not None:
                        results.extend(loaded)
                        bar.done(loaded[0].rows_read)
                        return
                if len(part) == 1:
                    bf, sha = part[0]
                    bar.start(bf.path)
                    results.append(
                        _load_one(
                            con, bf.path, hmac_key, pseudonymiser, fmt, mapping, relative_to, sha,
                            manifest=manifest, source_file=bf.source_file,
                        )
                    )  # fmt: skip
                    bar.done(results[-1].rows_read)
                    return
                bar.start(part[0][0].path, len(part))
                loaded = _load_batch(con, part, pseudonymiser, manifest)
                if loaded is None:
                    # Something only the per-file path decides (a malformed line, a cut-off file):
                    # halve and retry, so only that file's neighbourhood loads file by file.
                    middle = len(part) // 2
                    load(part[:middle])
                    load(part[middle:])
                    return
                for r in loaded:
                    results.append(r)
                    bar.done(r.rows_read)

            def flush() -> None:
                if batch:
                    load(list(batch))
                batch.clear()

            for path in files:
                source_file = names(path)
                sha = manifest.sha256(path, source_file)
                seen = manifest.loaded_as(sha, path.name)
                joinable = None if seen is not None else _batch_candidate(path, source_file, fmt, mapping)
                if joinable is None:
                    flush()
                    bar.start(path)
                    if seen is not None:
                        results.append(_already_loaded_result(path, source_file, sha, seen))
                    else:
                        results.append(
                            _load_one(
                                con, path, hmac_key, pseudonymiser, fmt, mapping, relative_to, sha,
                                manifest=manifest, source_file=source_file,
                            )
                        )  # fmt: skip
                    bar.done(results[-1].rows_read)
                    continue
                table, bf = joinable
                if batch and not _fits(batch, table, bf, sha):
                    flush()
                batch.append((bf, sha))
            flush()
        manifest.save(con)
        if any(r.status == "loaded" for r in results):
            con.execute("checkpoint")
    finally:
        con.close()
    return results


def landing_files(landing_dir: Path, sources: list[str] | None = None) -> list[Path]:
    """Files in the landing folders, in load order (hidden and partial `.tmp`/`.part` files skipped)."""
    landing_dir = Path(landing_dir)
    wanted = sources or LANDING_SOURCES
    unknown = sorted(set(wanted) - set(LANDING_SOURCES))
    if unknown:
        raise ValueError(f"unknown landing sources {unknown}; known: {LANDING_SOURCES}")
    files: list[Path] = []
    for source in [s for s in LANDING_SOURCES if s in wanted]:
        folder = landing_dir / source
        if not folder.is_dir():
            continue
        for f in sorted(folder.rglob("*")):
            rel_parts = f.relative_to(folder).parts
            if not f.is_file() or any(p.startswith(".") for p in rel_parts):
                continue
            if f.suffix in (".tmp", ".part", ".partial"):
                continue
            files.append(f)
    return files


def ingest_landing(
    warehouse_path: Path,
    landing_dir: Path,
    hmac_key: bytes,
    *,
    sources: list[str] | None = None,
    progress: bool = False,
    rehash: bool = False,
) -> list[FileResult]:
    """Load every landing file not yet in the manifest (format detected per file)."""
    files = landing_files(landing_dir, sources)
    if not files:
        connect(warehouse_path).close()  # still leave a complete raw schema behind
        return []
    return ingest_paths(
        warehouse_path,
        files,
        hmac_key,
        fmt="auto",
        progress=progress,
        relative_to=Path(landing_dir).resolve().parent,
        rehash=rehash,
    )


def forget_files(warehouse_path: Path, source_files: list[str]) -> int:
    """Remove everything loaded from these files (by lineage) so they can be loaded again.

    For re-ingesting a day after a reader fix. Contacts derived from several files (Asterisk calls,
    Connect transfers) lose the rows these files contributed and are re-derived when the files are
    loaded again, in the same run; schedule rows a forgotten export replaced come back. Returns
    the number of manifest entries removed.
    """
    from ingestion import schedule_exports
    from ingestion.readers import amazon_connect, asterisk_queue_log
    from ingestion.schema import READER_STATE_DDL

    if not source_files:
        return 0
    con = connect(warehouse_path)
    try:
        con.execute("begin transaction")
        con.execute("create or replace temp table _forget (f varchar)")
        con.executemany("insert into _forget values (?)", [(f,) for f in source_files])
        con.execute(
            """create or replace temp table _aff_calls as select distinct callid from raw.asterisk_queue_log
               where source_file in (select f from _forget)"""
        )
        con.execute(
            """create or replace temp table _aff_agents as select distinct agent, null::timestamp as since
               from raw.asterisk_queue_log where source_file in (select f from _forget)"""
        )
        con.execute(
            """create or replace temp table _aff_contacts as select distinct initial_contact_id
               from raw.amazon_connect_ctr where source_file in (select f from _forget)"""
        )
        for table in [*RAW_TABLES, *READER_STATE_DDL, "quarantine"]:
            con.execute(f"delete from raw.{table} where source_file in (select f from _forget)")
        schedule_exports.restore_replaced(con, "_forget")
        removed = con.execute(
            "delete from raw.file_manifest where file_path in (select f from _forget)"
        ).fetchone()[0]
        ctx = FileContext(con, Path("."), "", Pseudonymiser(b"unused"), b"unused", utc_now())
        asterisk_queue_log.rederive_segments(ctx)
        asterisk_queue_log.rederive_agent_states(ctx)
        amazon_connect.rederive_segments(ctx)
        con.execute("commit")
    except BaseException:
        _rollback(con)
        raise
    finally:
        con.close()
    return int(removed)
