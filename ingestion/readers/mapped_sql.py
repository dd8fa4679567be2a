"""Customer surveys and schedules (mapped CSV and .xlsx exports) converted by DuckDB, not row by row.

readers/mapped.py stays the one definition of how a value converts and why a row is quarantined.
Here DuckDB converts only the forms whose result it reproduces exactly (_field_sql: ISO dates and
times, whole numbers, the texts the mapping's value maps accept, text without edge whitespace,
comments without non-ASCII digits) and finishes those rows (survey times to UTC; schedule times
on their date, a bare end time past midnight on the next day), converting local time with the
zone's offsets from zoneinfo (offset_steps), as util.to_utc_naive does. Every other row — a bad
value, a missing field, an unusual but valid form — is fetched and decided by mapped.decide_row,
the row-by-row rules, so values, reasons and line numbers do not change.

The loader hands consecutive exports of one raw table over as a batch (candidate(); a single
file too): per group of one mapping, header and file type one conversion (CSVs: one read_csv,
rows in file order as in readers.canonical), then one dedupe and insert in file order. A file
DuckDB might read differently from Python's csv module (a malformed, blank or multi-line record,
a quote next to a space, a read error) raises BatchFallback before anything is written: the
loader rolls the batch back and loads such files with mapped.read, the Python path, as before.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import duckdb

from ingestion import schedule_exports
from ingestion.errors import IngestError
from ingestion.loader import Counts, stage_columns, stage_rows
from ingestion.readers import mapped
from ingestion.readers.canonical import (
    BatchFallback,
    BatchFile,
    _csv_files_scattered,
    _in,
    _quote,
    csv_batch_scan,
    finish_batch,
    number_batch_rows,
    stage_csv_batch,
)
from ingestion.schema import RAW_TABLES
from ingestion.util import PHONE_LIKE_SQL, zone

SQL_KINDS = ("customer_surveys", "schedules")

# Python's str.strip() whitespace (every c with chr(c).isspace(); a test keeps it so), as an RE2
# class: a value with any of these at an edge is left to Python (strip() would change it).
PY_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_SPACE) + "]"
_EDGE_SPACE = f"^{_SPACE}|{_SPACE}$"
_YMD = "(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}"
_HMS = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?"
# Years whose local times DuckDB converts to UTC (offset_steps); a row outside them is left to Python.
TZ_YEARS = (1990, 2059)


@cache
def offset_steps(tz: str, first_year: int, last_year: int) -> tuple[list[datetime], list[int]]:
    """The zone's UTC offset as a step function of local wall time around the years: (bounds
    b_0 < … < b_n, offsets s_0 … s_n in seconds), s_k holding from b_k (s_0 before b_1).

    util.to_utc_naive subtracts zoneinfo's utcoffset (fold=0): a wall time in a DST gap or fold
    takes the offset from before the change, so each change at UTC instant T (offset o1 to o2)
    is a step at local T + max(o1, o2), the rule zoneinfo applies itself. Changes are found day by
    day (no zone changes its offset twice within a day), then to the second: ~1.5 ms of CPU per
    year, so only the data's years are scanned."""
    z = zone(tz)
    start = datetime(first_year - 1, 1, 1, tzinfo=UTC).timestamp()
    end = datetime(last_year + 2, 1, 1, tzinfo=UTC).timestamp()

    def off(t: float) -> int:
        return int(datetime.fromtimestamp(t, z).utcoffset().total_seconds())

    current = off(start)
    bounds, offsets = [datetime(first_year - 1, 1, 1)], [current]
    t = start
    while t < end:
        nxt = t + 86400
        if off(nxt) != current:
            lo, hi = t, nxt  # off(lo) == current != off(hi): the change is in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if off(mid) == current else (lo, mid)
            new = off(hi)
            local = datetime.fromtimestamp(hi, UTC).replace(tzinfo=None) + timedelta(
                seconds=max(current, new)
            )
            bounds.append(local)
            offsets.append(new)
            current = new
        t = nxt
    return bounds, offsets


@cache
def _year_offsets(tz: str, years: tuple[int, int]) -> str:
    """Per year of `years` (within TZ_YEARS) as SQL lists: the offset at the year's start (o0), up to two changes
    (b1, b2: local bounds) and the offsets after them (o1, o2). A year with more changes is
    null (its rows are left to Python)."""
    bounds, offsets = offset_steps(tz, *years)
    o0, b1, o1, b2, o2 = [], [], [], [], []
    for year in range(years[0], years[1] + 1):
        first, after = datetime(year, 1, 1), datetime(year + 1, 1, 1)
        k = max(j for j, b in enumerate(bounds) if b <= first)
        changes = [j for j in range(k + 1, len(bounds)) if bounds[j] < after]
        if len(changes) > 2:
            o0.append(None)
            changes = []
        else:
            o0.append(offsets[k])
        steps = [(bounds[j], offsets[j]) for j in changes] + [
            (after, offsets[changes[-1] if changes else k])
        ] * 2
        (first_bound, first_offset), (second_bound, second_offset) = steps[0], steps[1]
        b1.append(first_bound)
        o1.append(first_offset)
        b2.append(second_bound)
        o2.append(second_offset)

    def ts_list(xs: list[datetime]) -> str:
        return "[" + ", ".join(f"timestamp '{x.isoformat(sep=' ')}'" for x in xs) + "]"

    def int_list(xs: list[int | None]) -> str:
        return "[" + ", ".join("null" if x is None else str(x) for x in xs) + "]"

    return f"{int_list(o0)}|{ts_list(b1)}|{int_list(o1)}|{ts_list(b2)}|{int_list(o2)}"


def _offset_sql(ts: str, tz: str, years: tuple[int, int]) -> str:
    """The offset (seconds) to subtract from local `ts`: looked up by the year's index into
    _year_offsets' lists (two comparisons per row); null outside `years` (left to Python). The
    lists cover only the years of the data: 70 years' lists cost ~45 ms to plan per statement."""
    o0, b1, o1, b2, o2 = _year_offsets(tz, years).split("|")
    i = f"(year({ts}) - {years[0] - 1})"
    return (
        f"case when year({ts}) between {years[0]} and {years[1]} then "
        f"case when {ts} < {b1}[{i}] then {o0}[{i}] when {ts} < {b2}[{i}] then {o1}[{i}] else {o2}[{i}] end end"
    )


def eligible(m: mapped.Mapping) -> bool:
    """Can DuckDB convert this mapping's rows? Fields from the file name, pivoted items, skills
    and value maps on dates or times stay on the Python path."""
    fields = set(m.columns.values())
    return (
        m.kind in SQL_KINDS
        and all(re.fullmatch("[a-z_][a-z0-9_]*", f) for f in fields)
        and not m.from_filename
        and not any(f.startswith("item:") for f in fields)
        and "skills" not in fields
        and not (set(m.values) & (mapped.DATE_FIELDS | mapped.TS_FIELDS))
    )


def _iso_dates_are_iso(m: mapped.Mapping) -> bool:
    """Does every ISO-looking date parse as ISO under the mapping's date formats (tried first)?"""
    samples = ["2026-03-01", "2026-12-31", "2026-01-13", "1999-07-04"]
    for fmt in m.date_formats:
        for s in samples:
            try:
                d = datetime.strptime(s, fmt).date()
            except ValueError:
                continue
            if d != date.fromisoformat(s):
                return False
    return True


def _literal(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def _field_sql(m: mapped.Mapping, fld: str, col: str, convert: mapped._Converter) -> list[tuple[str, str]]:
    """[(suffix, expression)] for field `fld` read from text column `col`: `__v` the converted
    value (TS fields: `__ts` local timestamp and `__tod` time of day instead) and `__ok`, true
    when the value is null or in a form DuckDB converts exactly as mapped._convert does (it may
    refer to the other two: it is evaluated a level further out)."""
    if fld in m.values or fld in mapped.ENUMS or fld in mapped.BOOL_FIELDS:
        # A closed set of accepted texts: each converted once here by the Python rules.
        if fld in m.values:
            vmap = m.values[fld]
            texts = set(vmap) | {str(t) for t in vmap.values() if t is not None}
        elif fld in mapped.ENUMS:
            texts = set(mapped.ENUMS[fld])
        else:
            texts = {v for t in mapped.TRUE | mapped.FALSE for v in (t, t.upper(), t.title())}
        known = {}
        for t in sorted(texts):
            ok, out = convert.result(fld, t)
            if ok and t and t == t.strip():
                known[t] = out
        if not known:
            return [("__v", "null"), ("__ok", f"{col} is null")]
        cases = " ".join(f"when {_literal(t)} then {_literal(v)}" for t, v in known.items())
        return [("__v", f"case {col} {cases} end"), ("__ok", f"({col} is null or {_in(col, tuple(known))})")]
    if fld in mapped.INT_RANGES:
        lo, hi = mapped.INT_RANGES[fld]
        value = f"case when regexp_full_match({col}, '[0-9]{{1,7}}') then {col}::integer end"
        return [("__v", value), ("__ok", f"({col} is null or {fld}__v between {lo} and {hi})")]
    if fld in mapped.DATE_FIELDS:
        if not _iso_dates_are_iso(m):
            return [("__v", "null::date"), ("__ok", f"{col} is null")]
        value = f"case when regexp_full_match({col}, '{_YMD}') then try_cast({col} as date) end"
        return [("__v", value), ("__ok", f"({col} is null or {fld}__v is not null)")]
    if fld in mapped.TS_FIELDS:
        # Within these shapes DuckDB's casts read what fromisoformat / strptime read (and reject
        # the same impossible dates); try_strptime with several formats cost 35x the cast.
        ts = f"case when regexp_full_match({col}, '{_YMD}[ T]{_HMS}') then try_cast({col} as timestamp) end"
        tod = f"case when regexp_full_match({col}, '{_HMS}') then try_cast({col} as time) end"
        return [
            ("__ts", ts),
            ("__tod", tod),
            ("__ok", f"({col} is null or {fld}__ts is not null or {fld}__tod is not null)"),
        ]
    nosp = f"not regexp_matches({col}, '{_EDGE_SPACE}')"
    if fld == "comment":
        # RE2's \d is ASCII, Python's is any decimal digit: comments with other digits go to Python.
        masked = f"regexp_replace({col}, '{PHONE_LIKE_SQL}', '<masked>', 'g')"
        return [
            ("__v", masked),
            ("__ok", f"({col} is null or ({nosp} and not regexp_matches({col}, '[^\\P{{N}}0-9]')))"),
        ]
    return [("__v", col), ("__ok", f"({col} is null or {nosp})")]


def _utc(ts: str, tz: str, years: tuple[int, int]) -> str:
    return ts if tz == "UTC" else f"({ts} - to_seconds({_offset_sql(ts, tz, years)}))"


def convert_sql(
    m: mapped.Mapping, header: list[str], source: str, years: tuple[int, int] = TZ_YEARS
) -> tuple[str, str]:
    """(parse, finish): `parse` selects `source` (text columns c0.., _py, _path, _line) with each
    field parsed, into temp table _mparsed; `finish` selects from it the text columns, _path,
    _line, the raw table's columns and `_clean`: true when DuckDB's result is the Python rules'."""
    table = mapped.KIND_TABLE[m.kind]
    tz = m.timezone
    convert = mapped._Converter(m)
    cols = {}
    for h, i in {h: i for i, h in enumerate(header) if h in m.columns}.items():
        cols[m.columns[h]] = f"c{i}"  # a field mapped twice takes the last column, as in Python
    parsed, oks = [], []
    for fld, col in cols.items():
        for suffix, expr in _field_sql(m, fld, col, convert):
            if suffix == "__ok":
                oks.append(f"coalesce({expr}, false)")
            else:
                parsed.append(f"{expr} as {fld}{suffix}")

    def value(fld: str) -> str:
        return f"{fld}__v" if fld in cols and fld not in mapped.TS_FIELDS else "null"

    def present(fld: str) -> str:
        if fld in mapped.TS_FIELDS:
            return f"({fld}__ts is not null or {fld}__tod is not null)" if fld in cols else "false"
        return f"({value(fld)} is not null and {value(fld)}::varchar <> '')" if fld in cols else "false"

    locals_, outs = {}, {}
    checks = [present(f) for f in mapped.REQUIRED[m.kind]]
    if m.kind == "schedules" and {"start_ts", "end_ts", "schedule_date"} <= set(cols):
        locals_ = {
            "start": "coalesce(start_ts__ts, schedule_date__v + start_ts__tod)",
            "end": "coalesce(end_ts__ts, schedule_date__v + end_ts__tod)",
            "end_next": "(schedule_date__v + 1) + end_ts__tod",
        }
        outs["start_ts"] = "u_start"
        # An end at or before the start is the next day's when it is a bare time (else rejected).
        outs["end_ts"] = "case when u_end > u_start then u_end else u_end_next end"
        checks += [
            "u_start is not null",
            "u_end is not null",
            "(u_end > u_start or (end_ts__tod is not null and u_end_next is not null))",
        ]
    else:
        for fld in sorted(mapped.TS_FIELDS & set(cols)):
            # A bare time of day has no date to stand on: Python names that reason.
            locals_[fld] = f"{fld}__ts"
            outs[fld] = f"u_{fld}"
            checks += [f"{fld}__tod is null", f"({fld}__ts is null or u_{fld} is not null)"]
    raw_cols = [f"cast({outs.get(c, value(c))} as {typ}) as {c}" for c, typ in RAW_TABLES[table]]
    texts = ", ".join(f"c{i}" for i in range(len(header)))
    clean = " and ".join(["not _py", *oks] + [f"coalesce({c}, false)" for c in checks])
    local_sql = ", ".join(f"{e} as l_{k}" for k, e in locals_.items()) or "null as _no_locals"
    utc_sql = ", ".join(f"{_utc(f'l_{k}', tz, years)} as u_{k}" for k in locals_) or "null as _no_utc"
    parse = f"select *, {', '.join(parsed) or 'null as _none'} from ({source})"
    # Two statements: the parsed values are materialised once, so the steps after them (each
    # referring to a value several times) never evaluate a parse twice.
    return (
        parse,
        f"""select {texts}, _path, _line, {", ".join(raw_cols)}, {clean} as _clean
               from (select *, {utc_sql} from (select *, {local_sql} from _mparsed))""",
    )


# --- which files ------------------------------------------------------------------------------


def _header_mapping(path: Path, header: list[str], explicit: Path | None) -> mapped.Mapping | None:
    """The mapping mapped.read would pick for this UTF-8 file (None: let mapped.read decide)."""
    if explicit is not None:
        m = mapped.load_mapping(explicit)
        if m.encoding not in ("auto", "utf-8", "utf-8-sig") or any(h not in header for h in m.headers_all):
            return None
    else:
        candidates = mapped.builtin_mappings()
        if {c.encoding for c in candidates} != {"auto"}:
            return None
        found = [c for c in candidates if mapped._matches(c, path.name, header)]
        if not found:
            return None
        m = found[0]
    return m if eligible(m) else None


_QUOTE_NEXT_TO_SPACE = re.compile(r'[ \t]"|"[ \t]')


def csv_candidate(path: Path, source_file: str, explicit: Path | None = None) -> BatchFile | None:
    """A BatchFile for a UTF-8 CSV export DuckDB can convert, else None (mapped.read decides)."""
    if path.suffix.lower() == ".xlsx":
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:  # as util.decode_auto: UTF-8 (BOM or not), else GB18030
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            return None
    try:
        first = next(csv.reader(io.StringIO(text)), None)
    except csv.Error:
        return None
    if not first or not any(c.strip() for c in first):
        return None  # a blank first line: the header is further down
    header = [c.strip().lstrip("\ufeff") for c in first]
    if _QUOTE_NEXT_TO_SPACE.search(text):
        return None  # DuckDB trims `a, "b"` to b where csv keeps ` "b"`: Python reads this file
    m = _header_mapping(path, header, explicit)
    if m is None:
        return None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    # DuckDB's strict reader accepts a record with one trailing empty field too many, which csv
    # reads as a malformed line: every record must have the header's number of fields.
    if '"' not in text:
        if text.count(",") != (len(header) - 1) * lines:
            return None
    else:
        try:
            if any(len(r) != len(header) for r in csv.reader(io.StringIO(text)) if r):
                return None
        except csv.Error:
            return None
    table = mapped.KIND_TABLE[m.kind]
    return BatchFile(path, source_file, header, False, table, mapping=m, line_count=lines, encoding=encoding)


# --- loading ----------------------------------------------------------------------------------


def _notes(m: mapped.Mapping, header: list[str]) -> list[str]:
    unknown = [h for h in header if h and h not in m.columns and h not in m.ignore]
    return [f"mapping {m.path.name}"] + ([f"unmapped columns ignored: {unknown}"] if unknown else [])


def _decide_in_python(
    con: duckdb.DuckDBPyConnection, m: mapped.Mapping, header: list[str], line: str, file_join: str, cells_of
) -> bool:
    """Temp table _mpy: the rows DuckDB did not convert, decided by mapped.decide_row (a row, or
    a quarantine reason); blank records are not rows (as in mapped.read). False: there were none."""
    table = mapped.KIND_TABLE[m.kind]
    out_cols = [c for c, _ in RAW_TABLES[table]]
    index = {h: i for i, h in enumerate(header) if h in m.columns}
    texts = ", ".join(f"s.c{i}" for i in range(len(header)))
    todo = con.execute(
        f"""select b._file, b.source_file, {line} as source_line, {texts}
            from _mconv s {file_join} where not s._clean order by b._file, source_line"""
    ).fetchall()
    convert = mapped._Converter(m)
    rows = []
    for file_no, source_file, source_line, *texts_ in todo:
        cells = cells_of(file_no, source_line, texts_)
        if not any(mapped._cell(c) for c in cells):
            continue
        rec, bad = mapped.decide_row(m, {}, index, cells, convert, out_cols, source_line)
        if bad is None:
            rows.append((*rec[:-1], source_line, file_no, source_file, None, None))
        else:
            rows.append((*[None] * len(out_cols), source_line, file_no, source_file, bad[1], bad[2]))
    if not rows:
        return False
    extra = [("source_line", "bigint"), ("_file", "integer"), ("source_file", "varchar")]
    stage_rows(
        con,
        "_mpy",
        RAW_TABLES[table] + extra + [("reject_reason", "varchar"), ("raw_record", "varchar")],
        rows,
    )
    return True


def _finish_conversion(con: duckdb.DuckDBPyConnection, m: mapped.Mapping, header: list[str]) -> None:
    """_mconv from _mparsed; a table scan and projections keep the rows' order (checked)."""
    dated = [c for c in _parsed_columns(con) if c.endswith("__ts") or c in ("schedule_date__v",)]
    years = TZ_YEARS
    if dated:
        lo, hi = con.execute(
            f"select min(least({', '.join(dated)})), max(greatest({', '.join(dated)})) from _mparsed"
        ).fetchone()
        if lo is not None:  # the data's years (and the next, for an end after midnight), in TZ_YEARS
            years = (max(lo.year, TZ_YEARS[0]), max(min(hi.year + 1, TZ_YEARS[1]), TZ_YEARS[0]))
    con.execute(f"create or replace temp table _mconv as {convert_sql(m, header, '', years)[1]}")
    if _csv_files_scattered(con, "_mconv"):
        raise BatchFallback("rows out of file order")


def _parsed_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("select column_name from (describe _mparsed)").fetchall()]


_GROUP_TABLES = ("_mparsed", "_mconv", "_mpy", "_mxlsx", "_csv_rejects", "_csv_reject_scans")


def drop_temp_tables(
    con: duckdb.DuckDBPyConnection, tables=(*_GROUP_TABLES, "_final", "_batch_files", "_file_start")
) -> None:
    for t in tables:
        try:
            con.execute(f"drop table if exists {t}")
        except duckdb.Error:
            return  # the transaction failed: the caller rolls it back, temp tables included


def _stage_csv_group(con, group: list[BatchFile], tmp: Path) -> None:
    """_mparsed and _mconv for CSV files of one mapping and header: one read_csv."""
    m, header = group[0].mapping, group[0].header
    names = [f"c{i}" for i in range(len(header))]
    scanned = []
    for f in group:
        if f.encoding == "utf-8":
            scanned.append(f)
        else:  # DuckDB reads UTF-8 only: a GB18030 export is read through a UTF-8 copy (same lines)
            copy = tmp / f"{len(list(tmp.iterdir()))}.csv"
            copy.write_bytes(f.path.read_bytes().decode(f.encoding).encode("utf-8"))
            scanned.append(copy)
    paths = [x if isinstance(x, Path) else x.path for x in scanned]
    stage_csv_batch(
        con,
        "_mparsed",
        [replace(f, path=p) for f, p in zip(group, paths, strict=True)],
        lambda part: csv_batch_scan(part, names, [*names, "false as _py"]),
        lambda source: convert_sql(m, header, source)[0],
        ("mapped", str(m.path), tuple(header)),
    )
    _finish_conversion(con, m, header)
    # Line = rowid offset + 2 holds only if every line after the header is one record.
    per_file = dict(con.execute("select _path, count(*) from _mconv group by _path").fetchall())
    for f, p in zip(group, paths, strict=True):
        if per_file.get(str(p), 0) + 1 != f.line_count:
            raise BatchFallback(f"{f.source_file}: blank or multi-line records")
    # Lineage by the original file: the copies' paths are renamed back.
    for f, p in zip(group, paths, strict=True):
        if p != f.path:
            con.execute("update _mconv set _path = ? where _path = ?", [str(f.path), str(p)])


def _xlsx_text(v, fld: str) -> tuple[str | None, bool]:
    """(text DuckDB converts as mapped._convert converts the cell, whether only Python may):
    dates, times and whole numbers in the fields that read them as such; any other typed cell
    leaves its row to Python. (Text cells are taken as they are by the caller.)"""
    if fld in mapped.TS_FIELDS or fld in mapped.DATE_FIELDS:
        if isinstance(v, datetime | time) and v.tzinfo is None and v.microsecond == 0:
            return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat(), False
        if isinstance(v, date) and not isinstance(v, datetime):
            return v.isoformat(), False
    if fld in mapped.INT_RANGES and isinstance(v, int | float) and not isinstance(v, bool):
        if float(v).is_integer():
            return str(int(v)), False
    return None, True


def _stage_xlsx_group(con, group: list[BatchFile]) -> None:
    """_mparsed and _mconv for .xlsx sheets of one mapping and header (rows read by calamine):
    the mapped columns staged as text, column by column; unmapped columns are not needed (the
    rows left to Python are decided from the cells themselves)."""
    m, header = group[0].mapping, group[0].header
    width = len(header)
    rows = [
        cells if len(cells) >= width else [*cells, *[None] * (width - len(cells))]
        for f in group
        for _, cells in f.cells
    ]
    n = len(rows)
    only_python = [False] * n
    columns: dict[str, list] = {}
    for h, i in {h: i for i, h in enumerate(header) if h in m.columns}.items():
        fld, seen = m.columns[h], {}
        raw = [cells[i] for cells in rows]
        texts = columns[f"c{i}"] = [v if v.__class__ is str and v else None for v in raw]
        for j in [j for j, v in enumerate(raw) if v is not None and v.__class__ is not str]:
            v = raw[j]
            hit = seen.get((v.__class__, v))
            if hit is None:
                hit = seen[(v.__class__, v)] = _xlsx_text(v, fld)
            texts[j] = hit[0]
            if hit[1]:
                only_python[j] = True
    stage_columns(
        con,
        "_mxlsx",
        [(c, "varchar") for c in columns] + [("_py", "boolean"), ("_sheet", "integer"), ("_line", "bigint")],
        {
            **columns,
            "_py": only_python,
            "_sheet": [k for k, f in enumerate(group) for _ in f.cells],
            "_line": [line for f in group for line, _ in f.cells],
        },
        plain=True,
    )
    texts = ", ".join(f"c{i}" if f"c{i}" in columns else f"null::varchar as c{i}" for i in range(width))
    paths = "[" + ", ".join(_quote(f.path) for f in group) + "]"
    source = f"select {texts}, _py, {paths}[_sheet + 1] as _path, _line from _mxlsx"
    con.execute(f"create or replace temp table _mparsed as {convert_sql(m, header, source)[0]}")
    _finish_conversion(con, m, header)


def read_batch(con: duckdb.DuckDBPyConnection, files: list[BatchFile], loaded_at) -> None:
    """Load survey or schedule exports of one raw table (candidate(): CSV and .xlsx, any of its
    mappings) in one pass: per group of one mapping, header and file type one conversion (CSV:
    one read_csv), then one dedupe and insert in file order; fills each file's Counts. Raises
    BatchFallback where only mapped.read decides (nothing is written before)."""
    table, kind = files[0].table, files[0].mapping.kind
    for f in files:  # a retried file (the batch fell back and was halved) starts afresh
        f.counts = Counts(source=kind)
    groups: dict[tuple, list[BatchFile]] = {}
    for f in files:
        groups.setdefault((str(f.mapping.path), tuple(f.header), f.cells is not None), []).append(f)
    order = {str(f.path): i for i, f in enumerate(files)}
    cols = ", ".join(c for c, _ in RAW_TABLES[table])
    try:
        with tempfile.TemporaryDirectory(prefix="callcenter-mapped-") as tmp:
            first = True
            for (_, _, is_xlsx), group in groups.items():
                m, header = group[0].mapping, group[0].header
                try:
                    if is_xlsx:
                        _stage_xlsx_group(con, group)
                    else:
                        _stage_csv_group(con, group, Path(tmp))
                except duckdb.Error as e:
                    raise BatchFallback(str(e).splitlines()[0]) from None
                line, file_join = number_batch_rows(con, "_mconv", files)
                sheets = {order[str(f.path)]: f for f in group if f.cells is not None}
                by_line: dict[int, dict] = {}

                def cells_of(file_no, line_no, texts, sheets=sheets, by_line=by_line):
                    """A sheet's own cells (typed) decide its rows; a CSV row's are the texts."""
                    if file_no not in sheets:
                        return texts
                    if file_no not in by_line:
                        by_line[file_no] = dict(sheets[file_no].cells)
                    return by_line[file_no][line_no]

                decided = _decide_in_python(con, m, header, line, file_join, cells_of)
                from_python = (
                    f"union all select {cols}, reject_reason, raw_record, source_line, _file, source_file from _mpy"
                    if decided
                    else ""
                )
                into = "create or replace temp table _final as" if first else "insert into _final"
                con.execute(
                    f"""{into} select {cols}, null::varchar as reject_reason, null::varchar as raw_record,
                                {line} as source_line, b._file, b.source_file
                         from _mconv s {file_join} where s._clean
                         {from_python}"""
                )
                first = False
                for f in group:
                    f.counts.notes = _notes(m, header) + f.counts.notes
                drop_temp_tables(con, _GROUP_TABLES)
        replaced = {}
        if table == schedule_exports.TABLE:
            valid = "reject_reason is null"
            if schedule_exports.days_planned_twice(con, "_final", where=valid):
                raise BatchFallback("schedule exports of one agent-day: loaded in turn")
            replaced = schedule_exports.replace_planned_days(
                con, "_final", where=valid, replaced_at=loaded_at
            )
        finish_batch(con, table, kind, files, loaded_at)
        for f in files:
            if f.source_file in replaced:
                f.counts.notes.append(schedule_exports.replaced_note(*replaced[f.source_file]))
    finally:
        drop_temp_tables(con)


def _xlsx_rows(path: Path, source_file: str, sheet) -> tuple[list[str], list[tuple[int, list]]]:
    from types import SimpleNamespace

    return mapped._read_table(SimpleNamespace(path=path, source_file=source_file), "auto", sheet)


def candidate(path: Path, source_file: str, explicit: Path | None = None) -> BatchFile | None:
    """A BatchFile for a survey or schedule export DuckDB can convert (a CSV, or an .xlsx sheet
    read here once), else None: mapped.read decides."""
    if path.suffix.lower() != ".xlsx":
        return csv_candidate(path, source_file, explicit)
    if explicit is None and not any(
        eligible(c) and (not c.filename or re.search(c.filename, path.name, re.IGNORECASE))
        for c in mapped.builtin_mappings()
    ):
        return None  # a roster or stress survey sheet: not worth reading here as well
    sheet = mapped.load_mapping(explicit).sheet if explicit is not None else 0
    try:
        header, body = _xlsx_rows(path, source_file, sheet)
    except IngestError:
        return None
    m = _header_mapping(path, header, explicit)
    if m is None or m.sheet != sheet:
        return None
    return BatchFile(path, source_file, header, False, mapped.KIND_TABLE[m.kind], mapping=m, cells=body)
