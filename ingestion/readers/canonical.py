"""Canonical CSV / Parquet: the raw columns themselves (caller_number instead of caller_key).

DuckDB does all the work (built for 10M rows in seconds): read_csv with every column as text,
one CTAS that parses and validates with a CASE chain (the first failing rule is the row's
quarantine reason), a distinct-caller map for pseudonymisation, then an anti-join insert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ingestion.detect import CANONICAL_SEGMENT_MARKERS, csv_header
from ingestion.errors import IngestError
from ingestion.loader import Counts, FileContext, insert_new, quarantine_staged
from ingestion.util import PHONE_LIKE_SQL, source_time_zone

OUTCOMES = (
    "answered",
    "abandoned",
    "timeout",
    "exit_key",
    "overflow",
    "transferred_out",
    "error",
    "ivr_only",
)
CHANNELS = ("voice", "chat", "email")
DIRECTIONS = ("inbound", "outbound", "transfer", "callback")
STATES = ("logged_in", "available", "on_contact", "acw", "not_ready", "logged_out")
TRANSFER_TYPES = ("blind", "attended")

SEGMENT_COLUMNS = [
    "source_system", "contact_id", "segment_seq", "channel", "direction", "queue_code", "caller_number",
    "queue_entry_ts", "answer_ts", "end_ts", "agent_id", "wait_s", "talk_s", "hold_s", "acw_s", "outcome",
    "transfer_type", "transfer_to_queue", "disposition", "complaint", "resolved",
]  # fmt: skip
SEGMENT_REQUIRED = ["contact_id", "segment_seq", "channel", "direction", "queue_entry_ts", "outcome"]
STATE_COLUMNS = ["source_system", "agent_id", "state", "reason", "start_ts", "end_ts"]
STATE_REQUIRED = ["agent_id", "state", "start_ts"]


# 0-based position of a row of _canon in the file: rowids of a table created inside a transaction
# start at a large offset but stay in insertion order.
_ROW_ORDINAL = "(_canon.rowid - (select min(rowid) from _canon))"


def _in(col: str, values: tuple[str, ...]) -> str:
    # An OR chain, not `in (...)` (nor list_contains, rewritten to IN): DuckDB plans an IN list of
    # more than a few constants as a mark join, and a join in the validating projection let one
    # multi-file read_csv lose its files' row order in _canon, so every batch was scanned again
    # file by file (~40 % of the canonical reader's CPU at 1M).
    return "(" + " or ".join(f"{col} = {v!r}" for v in values) + ")"


def _ts(col: str, tz: str) -> str:
    """Text → naive UTC. An explicit offset always wins; naive text is in the source's zone (the
    session TimeZone). The plain cast (no ICU) covers the common naive/`Z` case of UTC sources."""
    with_zone = f"(try_cast({col} as timestamptz) at time zone 'UTC')"
    if tz != "UTC":
        return with_zone
    return (
        f"(case when {col}[11:] like '%+%' or {col}[11:] like '%-%' then {with_zone} "
        f"else try_cast({col} as timestamp) end)"
    )


def _num(col: str) -> str:
    return f"try_cast({col} as double)"


def _reason(rules: list[tuple[str, str]]) -> str:
    """CASE chain: the first rule whose condition holds names the row's quarantine reason."""
    whens = "\n".join(f"when {cond} then {reason}" for cond, reason in rules)
    return f"case {whens} else null end"


def _validated(parsed: list[tuple[str, str]], rules: list[tuple[str, str]], source: str, keep: str) -> str:
    """Parse every column once (p_*), validate the parsed values (the first failing rule is the
    reason), and rebuild the text of rejected rows only (masked) for the quarantine."""
    inner = ", ".join(f"{expr} as p_{name}" for name, expr in parsed)
    outer = ", ".join(f"p_{name} as {name}" for name, _ in parsed)
    raw = ", ".join(f"r_{name}" for name, _ in parsed)
    raw_as = ", ".join(f"{name} as r_{name}" for name, _ in parsed)
    return f"""select * exclude ({raw}),
                      case when reject_reason is not null
                           then regexp_replace(concat_ws(',', {raw}), '{PHONE_LIKE_SQL}', '<masked>', 'g')
                      end as raw_record
               from (select {outer}, {raw_as}, {_reason(rules)} as reject_reason {keep}
                     from (select *, {inner} from ({source})))"""


def _segment_sql(source: str, keep: str, tz: str) -> str:
    parsed = [
        ("source_system", "coalesce(nullif(trim(source_system), ''), 'canonical')"),
        ("contact_id", "trim(contact_id)"),
        ("segment_seq", "try_cast(segment_seq as integer)"),
        ("channel", "lower(channel)"),
        ("direction", "lower(direction)"),
        ("queue_code", "nullif(trim(queue_code), '')"),
        ("caller_number", "caller_number"),
        ("queue_entry_ts", _ts("queue_entry_ts", tz)),
        ("answer_ts", _ts("answer_ts", tz)),
        ("end_ts", _ts("end_ts", tz)),
        ("agent_id", "nullif(trim(agent_id), '')"),
        *[(c, _num(c)) for c in ("wait_s", "talk_s", "hold_s", "acw_s")],
        ("outcome", "lower(outcome)"),
        ("transfer_type", "lower(transfer_type)"),
        ("transfer_to_queue", "nullif(trim(transfer_to_queue), '')"),
        ("disposition", "nullif(trim(disposition), '')"),
        ("complaint", "try_cast(complaint as boolean)"),
        ("resolved", "try_cast(resolved as boolean)"),
    ]
    rules: list[tuple[str, str]] = [
        ("p_contact_id is null or p_contact_id = ''", "'missing contact_id'"),
        ("p_segment_seq is null or p_segment_seq < 1", "'bad segment_seq'"),
        (f"p_channel is null or not {_in('p_channel', CHANNELS)}", "'unknown channel ' || coalesce(channel, '')"),
        (f"p_direction is null or not {_in('p_direction', DIRECTIONS)}", "'unknown direction ' || coalesce(direction, '')"),
        (f"p_outcome is null or not {_in('p_outcome', OUTCOMES)}", "'unknown outcome ' || coalesce(outcome, '')"),
        ("p_queue_entry_ts is null", "'bad timestamp queue_entry_ts'"),
        ("answer_ts is not null and p_answer_ts is null", "'bad timestamp answer_ts'"),
        ("end_ts is not null and p_end_ts is null", "'bad timestamp end_ts'"),
    ]  # fmt: skip
    for c in ("wait_s", "talk_s", "hold_s", "acw_s"):
        rules.append((f"{c} is not null and p_{c} is null", f"'bad number {c}'"))
        rules.append((f"p_{c} < 0", f"'negative duration {c}'"))
    rules += [
        (f"p_transfer_type is not null and not {_in('p_transfer_type', TRANSFER_TYPES)}", "'unknown transfer_type ' || transfer_type"),
        ("complaint is not null and p_complaint is null", "'bad boolean complaint'"),
        ("resolved is not null and p_resolved is null", "'bad boolean resolved'"),
        ("p_answer_ts < p_queue_entry_ts", "'answer_ts before queue_entry_ts'"),
        ("p_end_ts < p_queue_entry_ts", "'end_ts before queue_entry_ts'"),
    ]  # fmt: skip
    return _validated(parsed, rules, source, keep)


def _state_sql(source: str, keep: str, tz: str) -> str:
    parsed = [
        ("source_system", "coalesce(nullif(trim(source_system), ''), 'canonical')"),
        ("agent_id", "trim(agent_id)"),
        ("state", "lower(state)"),
        ("reason", "nullif(trim(reason), '')"),
        ("start_ts", _ts("start_ts", tz)),
        ("end_ts", _ts("end_ts", tz)),
    ]
    rules = [
        ("p_agent_id is null or p_agent_id = ''", "'missing agent_id'"),
        (f"p_state is null or not {_in('p_state', STATES)}", "'unknown state ' || coalesce(state, '')"),
        ("p_start_ts is null", "'bad timestamp start_ts'"),
        ("end_ts is not null and p_end_ts is null", "'bad timestamp end_ts'"),
        ("p_end_ts < p_start_ts", "'negative duration (end_ts before start_ts)'"),
    ]
    return _validated(parsed, rules, source, keep)


def _duck_problem(e: duckdb.Error, path: str = "") -> tuple[str, int | None]:
    """DuckDB's CSV/Parquet error as (one-line problem, line); never echo the record (it may hold a number)."""
    text = str(e)
    m = re.search(r"on Line: (\d+)", text)
    line = int(m.group(1)) if m else None
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    problem = lines[0]
    if problem.startswith("Invalid Input Error: CSV Error"):
        for x in lines[1:]:
            if not x.startswith(("Original Line", "LINE ", "^")):
                problem = x
                break
    problem = re.sub(r"^(Invalid Input Error|IO Error): ", "", problem)
    if path:
        problem = problem.replace(f" '{path}'", "").replace(path, Path(path).name)
    return problem, line


def _csv_source(ctx: FileContext, header: list[str], wanted: list[str]) -> str:
    """A select of `wanted` text columns (missing optional ones as NULL) over the CSV."""
    cols = ", ".join(f"'{h}': 'VARCHAR'" for h in header)
    path = str(ctx.path).replace("'", "''")
    for t in ("_csv_rejects", "_csv_reject_scans"):
        ctx.con.execute(f"drop table if exists {t}")
    scan = (
        f"read_csv('{path}', auto_detect=false, header=true, delim=',', quote='\"', escape='\"', "
        f"columns={{{cols}}}, strict_mode=true, null_padding=false, ignore_errors=true, "
        "store_rejects=true, rejects_table='_csv_rejects', rejects_scan='_csv_reject_scans')"
    )
    present = set(header)
    exprs = [f'"{c}"' if c in present else f"null::varchar as {c}" for c in wanted]
    return f"select {', '.join(exprs)} from {scan}"


def read(ctx: FileContext) -> Counts:
    con = ctx.con
    is_parquet = ctx.path.suffix.lower() == ".parquet"
    if is_parquet:
        try:
            header = [
                r[0]
                for r in con.execute(
                    "select column_name from (describe select * from read_parquet(?))", [str(ctx.path)]
                ).fetchall()
            ]
        except duckdb.Error as e:
            problem, line = _duck_problem(e, str(ctx.path))
            raise IngestError(
                ctx.source_file, f"not a readable Parquet file ({problem}); truncated?", line
            ) from None
    else:
        raw_head = ctx.path.open("rb").read(65536)
        try:
            raw_head.split(b"\n", 1)[0].decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError(ctx.source_file, "header is not UTF-8 text (wrong encoding?)", 1) from None
        header = csv_header(ctx.path)
    is_segments = CANONICAL_SEGMENT_MARKERS <= set(header)
    table, wanted, required, build_sql = (
        ("contact_segments", SEGMENT_COLUMNS, SEGMENT_REQUIRED, _segment_sql)
        if is_segments
        else ("agent_states", STATE_COLUMNS, STATE_REQUIRED, _state_sql)
    )
    missing = [c for c in required if c not in header]
    if missing:
        raise IngestError(ctx.source_file, f"not a canonical {table} file: missing columns {missing}", 1)
    if len(set(header)) != len(header):
        raise IngestError(ctx.source_file, "duplicate column names in the header", 1)
    counts = Counts(source=table)
    extra = sorted(set(header) - set(wanted) - {"caller_key"})
    if "caller_key" in header:
        raise IngestError(
            ctx.source_file, "has a caller_key column: give caller_number, keys are made at ingestion", 1
        )
    if extra:
        counts.notes.append(f"ignored columns {extra}")

    if is_parquet:
        path = str(ctx.path).replace("'", "''")
        present = set(header)
        exprs = [
            f'cast("{c}" as varchar) as {c}' if c in present else f"null::varchar as {c}" for c in wanted
        ]
        source = (
            f"select {', '.join(exprs)}, file_row_number + 1 as _line "
            f"from read_parquet('{path}', file_row_number=true)"
        )
    else:
        source = _csv_source(ctx, header, wanted)

    tz = source_time_zone(table)
    con.execute(f"set TimeZone = '{tz}'")  # naive timestamps are in the source's declared zone
    try:
        keep = ", _line" if is_parquet else ""
        con.execute(f"create or replace temp table _canon as {build_sql(source, keep, tz)}")
    except duckdb.Error as e:
        problem, line = _duck_problem(e, str(ctx.path))
        raise IngestError(ctx.source_file, problem, line) from None
    finally:
        try:
            con.execute("set TimeZone = 'UTC'")
        except duckdb.Error:
            pass  # transaction aborted: the loader rolls back and resets the zone

    malformed = 0
    line_expr = "_line" if is_parquet else _ROW_ORDINAL + " + 2"
    if not is_parquet:
        malformed, line_expr = _csv_rejects(ctx, table)

    if is_segments:
        ctx.pseudonymiser.map_table(
            con, "select caller_number from _canon where reject_reason is null", "_caller_map"
        )
        cols = [c for c in SEGMENT_COLUMNS if c != "caller_number"]
        # A view, not a table: the join is evaluated once, by the insert (and cheaply for rejects).
        con.execute(
            f"""create or replace temp view _final as
                select {", ".join("s." + c for c in cols if c != "caller_key")},
                       m.caller_key,
                       coalesce(s.reject_reason, m.caller_problem) as reject_reason,
                       case when s.reject_reason is null and m.caller_problem is not null
                            then 'contact_id=' || s.contact_id || ',caller_number=<masked>'
                            else s.raw_record end as raw_record,
                       {line_expr.replace("_canon.", "s.").replace("_line", "s._line")} as source_line
                from _canon s left join _caller_map m on s.caller_number = m.number"""
        )
    else:
        con.execute(f"create or replace temp view _final as select *, {line_expr} as source_line from _canon")

    read_rows = con.execute("select count(*) from _canon").fetchone()[0] + malformed
    quarantined = quarantine_staged(ctx, table, "_final") + malformed
    loaded, duplicate = insert_new(ctx, table, "_final", valid=read_rows - quarantined)
    counts.rows_read, counts.rows_loaded = read_rows, loaded
    counts.rows_quarantined, counts.rows_duplicate = quarantined, duplicate
    counts.add_table(table, loaded)
    con.execute("drop view if exists _final")
    for t in ("_canon", "_caller_map"):
        con.execute(f"drop table if exists {t}")
    return counts


def _csv_rejects(ctx: FileContext, table: str) -> tuple[int, str]:
    """Malformed CSV lines: quarantined, unless the file is cut off (last line, no newline) or is
    not UTF-8 — then the whole file is rejected. Returns (malformed count, source_line expression)."""
    con = ctx.con
    # DuckDB may report one short line several times (once per missing column): one row per line.
    rejects = con.execute(
        """select line, arg_min(error_type, column_idx), arg_min(error_message, column_idx),
                  arg_min(csv_line, column_idx)
           from _csv_rejects group by line order by line"""
    ).fetchall()
    if not rejects:
        return 0, _ROW_ORDINAL + " + 2"
    size = ctx.path.stat().st_size
    with open(ctx.path, "rb") as f:
        f.seek(max(size - 1, 0))
        ends_with_newline = f.read(1) == b"\n"
    total_lines = con.execute("select count(*) from _canon").fetchone()[0] + len(rejects) + 1
    for line, error_type, message, _ in rejects:
        if "UNICODE" in str(error_type).upper() or "unicode" in str(message).lower():
            raise IngestError(ctx.source_file, "not valid UTF-8 text (wrong encoding?)", int(line))
        if int(line) >= total_lines and not ends_with_newline:
            raise IngestError(
                ctx.source_file,
                f"file is truncated: last line is cut off ({str(message).splitlines()[0]})",
                int(line),
            )
    from ingestion.loader import quarantine_rows
    from ingestion.util import mask_numbers

    quarantine_rows(
        ctx,
        table,
        [
            (int(line), f"malformed line: {str(msg).splitlines()[0]}", mask_numbers(str(raw or "")))
            for line, _, msg, raw in rejects
        ],
    )
    # Good row k (0-based) sits on line k + 2 plus the malformed lines before it. With malformed
    # lines r_0 < r_1 < …, row k is past r_i when k >= r_i - 2 - i.
    thresholds = [int(line) - 2 - i for i, (line, *_rest) in enumerate(rejects)]
    shift = " + ".join(f"({_ROW_ORDINAL} >= {t})::int" for t in thresholds)
    return len(rejects), f"{_ROW_ORDINAL} + 2 + {shift}"


# --- Many files of one kind in one pass ------------------------------------------------------


class BatchFallback(Exception):
    """The batch met something the per-file path handles (a malformed line, a damaged file):
    the caller rolls the batch back and loads its files one by one."""


@dataclass
class BatchFile:
    path: Path
    source_file: str
    header: list[str]
    is_parquet: bool
    table: str  # contact_segments | agent_states, or a mapped kind's raw table
    counts: Counts = field(default_factory=lambda: Counts(source=""))
    mapping: Any = None  # a mapped export's Mapping (readers.mapped_sql); None: canonical
    line_count: int = 0  # CSV lines, the last one counted even without a final newline
    encoding: str = "utf-8"  # a mapped CSV may be GB18030 (read through a UTF-8 copy)
    cells: Any = None  # a mapped .xlsx sheet's rows [(row number, cells)], read once


def batch_header(path: Path) -> tuple[str, list[str], bool] | None:
    """(raw table, header, is_parquet) when the file can join a batch: a readable header that the
    per-file reader would accept as is. None: load it alone (that path names its problem)."""
    is_parquet = path.suffix.lower() == ".parquet"
    try:
        if is_parquet:
            con = duckdb.connect()
            try:
                header = [
                    r[0]
                    for r in con.execute(
                        "select column_name from (describe select * from read_parquet(?))", [str(path)]
                    ).fetchall()
                ]
            finally:
                con.close()
        else:
            with path.open("rb") as f:
                f.read(65536).split(b"\n", 1)[0].decode("utf-8-sig")
            header = csv_header(path)
    except (duckdb.Error, UnicodeDecodeError, OSError):
        return None
    is_segments = CANONICAL_SEGMENT_MARKERS <= set(header)
    table, required = (
        ("contact_segments", SEGMENT_REQUIRED) if is_segments else ("agent_states", STATE_REQUIRED)
    )
    if any(c not in header for c in required) or len(set(header)) != len(header) or "caller_key" in header:
        return None
    return table, header, is_parquet


def _quote(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def _drop_csv_rejects(con: duckdb.DuckDBPyConnection) -> None:
    for t in ("_csv_rejects", "_csv_reject_scans"):
        con.execute(f"drop table if exists {t}")


# keeps_scan_order per batch shape (raw table, CSV header, zone): the plan does not depend on
# which files are read, and explaining the validating query costs ~40 ms of binding per batch.
_order_kept: dict[tuple, bool] = {}


def keeps_scan_order(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    """Does the plan of `sql` pass the scan's rows through in order (scans and projections only)?
    A join, aggregate, window or sort in it lets a multi-file read_csv's rows reach _canon out of
    file order (an IN list planned as a mark join did), and a CSV row's line comes from that order."""
    plan = "\n".join(str(r[-1]) for r in con.execute(f"explain {sql}").fetchall())
    return re.search(r"join|aggregate|window|order|top_n|union|distinct", plan, re.IGNORECASE) is None


def _csv_files_scattered(con: duckdb.DuckDBPyConnection, stage: str = "_canon") -> bool:
    """Does any CSV file's rows in `stage` not occupy one unbroken run of rowids?"""
    return bool(
        con.execute(
            f"""select count(*) from (select _path from {stage} where _line is null group by _path
               having max(rowid) - min(rowid) + 1 <> count(*))"""
        ).fetchone()[0]
    )


def csv_batch_scan(part: list[BatchFile], header: list[str], exprs: list[str]) -> str:
    """A select of `exprs` (over the header's columns, all text), `_path` and a null `_line` from
    one read_csv over the files of `part`, rejecting (into _csv_rejects) any malformed line."""
    cols = ", ".join(f"'{h}': 'VARCHAR'" for h in header)
    return f"""select {", ".join(exprs)}, filename as _path, null::bigint as _line
            from read_csv([{", ".join(_quote(f.path) for f in part)}], auto_detect=false, header=true,
                 delim=',', quote='"', escape='"', columns={{{cols}}}, strict_mode=true,
                 null_padding=false, ignore_errors=true, store_rejects=true,
                 rejects_table='_csv_rejects', rejects_scan='_csv_reject_scans', filename=true)"""


def stage_csv_batch(
    con: duckdb.DuckDBPyConnection, stage: str, csvs: list[BatchFile], scan, build, shape: tuple
) -> None:
    """Create temp table `stage` as build(scan(files)) with each CSV file's rows one unbroken run
    of rowids in file order (a row's line is its offset in that run). Raises BatchFallback when
    a line is malformed (the per-file path quarantines or rejects it)."""
    _drop_csv_rejects(con)
    whole = build(scan(csvs))
    if len(csvs) > 1 and shape not in _order_kept:
        _order_kept[shape] = keeps_scan_order(con, whole)
    in_one_scan = len(csvs) == 1 or _order_kept[shape]
    if in_one_scan:
        con.execute(f"create or replace temp table {stage} as {whole}")
    if not in_one_scan or _csv_files_scattered(con, stage):
        # A CSV row's line is its rowid's offset within its file, which needs each file's rows
        # contiguous and in order. One read_csv over many files keeps them so when the plan only
        # scans and projects (keeps_scan_order; a join once broke it, found in a 31-file batch);
        # checked after the fact too. Otherwise scan the files one by one (a statement per
        # file: about twice the CPU, hence only then).
        _drop_csv_rejects(con)
        con.execute(f"create or replace temp table {stage} as {build(scan(csvs[:1]))}")
        for f in csvs[1:]:
            con.execute(f"insert into {stage} {build(scan([f]))}")
    if con.execute("select count(*) from _csv_rejects").fetchone()[0]:
        raise BatchFallback("malformed lines")


def number_batch_rows(con: duckdb.DuckDBPyConnection, stage: str, files: list) -> tuple[str, str]:
    """Temp tables _batch_files (the batch's files in load order) and _file_start (each file's
    first rowid in `stage`); returns (source_line expression, join clause) for a select over
    `stage` aliased s: a CSV row's line is its offset from its file's first rowid + 2 (header),
    a row with its own `_line` (Parquet, .xlsx) keeps it."""
    con.execute(
        "create or replace temp table _batch_files (_path varchar, _file integer, source_file varchar)"
    )
    con.executemany(
        "insert into _batch_files values (?, ?, ?)",
        [(str(f.path), i, f.source_file) for i, f in enumerate(files)],
    )
    got = {r[0] for r in con.execute(f"select distinct _path from {stage}").fetchall()}
    if not got <= {str(f.path) for f in files}:  # DuckDB spelled a path differently: lineage lost
        raise BatchFallback("file names differ")
    # Each CSV file's rows are one unbroken run of rowids, so a row's line is its offset from its
    # file's first rowid; a join to that per-file minimum, not a window over every row (which
    # carried every column through a partition: ~half of this statement's CPU).
    con.execute(
        f"""create or replace temp table _file_start as
           select _path, min(rowid) as first_rowid from {stage} group by _path"""
    )
    return (
        "coalesce(s._line, s.rowid - fs.first_rowid + 2)",
        "join _batch_files b on b._path = s._path join _file_start fs on fs._path = s._path",
    )


def finish_batch(
    con: duckdb.DuckDBPyConnection, table: str, source: str, files: list, loaded_at, final: str = "_final"
) -> None:
    """Quarantine the rows of `final` that carry a reason, insert the first of each new key (in
    load order) into raw.`table`, and fill each file's Counts from `final` (columns _file,
    source_file, source_line, reject_reason, raw_record and the raw columns)."""
    from ingestion.loader import insert_new_rows

    con.execute(
        f"""insert into raw.quarantine
           select ?, source_file, source_line, reject_reason, raw_record, ? from {final}
           where reject_reason is not null""",
        [source, loaded_at],
    )
    loaded = insert_new_rows(con, table, final, order_by="_file, source_line", loaded_at=loaded_at)
    per_file = {
        r[0]: r[1:]
        for r in con.execute(
            f"""select f._file, count(s._file), count(s._file) filter (where s.reject_reason is not null)
               from _batch_files f left join {final} s on s._file = f._file group by f._file"""
        ).fetchall()
    }
    for i, f in enumerate(files):
        read_rows, quarantined = per_file.get(i, (0, 0))
        n_loaded = loaded.get(f.source_file, 0)
        c = f.counts
        c.source = source
        c.rows_read, c.rows_quarantined, c.rows_loaded = read_rows, quarantined, n_loaded
        c.rows_duplicate = read_rows - quarantined - n_loaded
        c.add_table(table, n_loaded)
    for t in (final, "_batch_files", "_file_start", "_csv_rejects", "_csv_reject_scans"):
        con.execute(f"drop table if exists {t}")


def read_batch(
    con: duckdb.DuckDBPyConnection, table: str, files: list[BatchFile], pseudonymiser, loaded_at
) -> None:
    """Load `files` (one kind; CSVs sharing one header) with one scan, one validation, one dedupe
    and one insert; each file's Counts are filled in. Same rules, reasons and row accounting as
    read(): within the batch a key's first row wins in file order, as loading them in turn would.
    Raises BatchFallback for anything the per-file path must decide (malformed lines, encoding,
    truncation, unreadable files)."""
    is_segments = table == "contact_segments"
    wanted, build_sql = (SEGMENT_COLUMNS, _segment_sql) if is_segments else (STATE_COLUMNS, _state_sql)
    for f in files:  # a retried file (the batch fell back and was halved) starts afresh
        f.counts = Counts(source=table)
    csvs = [f for f in files if not f.is_parquet]
    parquets = [f for f in files if f.is_parquet]
    header = csvs[0].header if csvs else []
    exprs = [f'"{c}"' if c in header else f"null::varchar as {c}" for c in wanted]
    keep = ", _path, _line"
    tz = source_time_zone(table)
    con.execute(f"set TimeZone = '{tz}'")
    try:
        if csvs:
            stage_csv_batch(
                con,
                "_canon",
                csvs,
                lambda part: csv_batch_scan(part, header, exprs),
                lambda source: build_sql(source, keep, tz),
                (table, tuple(header), tz),
            )
        if parquets:
            # After the CSVs (not in a union with them), so the CSV files' rowid runs stay unbroken.
            present = set().union(*(f.header for f in parquets))
            pq_exprs = [
                f'cast("{c}" as varchar) as {c}' if c in present else f"null::varchar as {c}" for c in wanted
            ]
            scan = f"""select {", ".join(pq_exprs)}, filename as _path, file_row_number + 1 as _line
                from read_parquet([{", ".join(_quote(f.path) for f in parquets)}], filename=true,
                     file_row_number=true, union_by_name=true)"""
            into = "insert into _canon" if csvs else "create or replace temp table _canon as"
            con.execute(f"{into} {build_sql(scan, keep, tz)}")
    except duckdb.Error as e:
        raise BatchFallback(str(e).splitlines()[0]) from None
    finally:
        try:
            con.execute("set TimeZone = 'UTC'")
        except duckdb.Error:
            pass
    line, file_join = number_batch_rows(con, "_canon", files)
    if is_segments:
        pseudonymiser.map_table(
            con, "select caller_number from _canon where reject_reason is null", "_caller_map"
        )
        cols = [c for c in SEGMENT_COLUMNS if c != "caller_number"]
        con.execute(
            f"""create or replace temp table _final as
                select {", ".join("s." + c for c in cols if c != "caller_key")}, m.caller_key,
                       coalesce(s.reject_reason, m.caller_problem) as reject_reason,
                       case when s.reject_reason is null and m.caller_problem is not null
                            then 'contact_id=' || s.contact_id || ',caller_number=<masked>'
                            else s.raw_record end as raw_record,
                       {line} as source_line, b._file, b.source_file
                from _canon s left join _caller_map m on s.caller_number = m.number
                {file_join}"""
        )
        con.execute("drop table _caller_map")
    else:
        con.execute(
            f"""create or replace temp table _final as
                select s.* exclude (_path, _line), {line} as source_line, b._file, b.source_file
                from _canon s {file_join}"""
        )
    finish_batch(con, table, table, files, loaded_at)
    for f in files:
        extra = sorted(set(f.header) - set(wanted) - {"caller_key"})
        if extra:
            f.counts.notes.append(f"ignored columns {extra}")
    con.execute("drop table if exists _canon")
