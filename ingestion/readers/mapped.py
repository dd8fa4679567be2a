"""Roster, schedules, customer surveys, stress surveys and survey waves from CSV or .xlsx exports,
through a declarative mapping file (ingestion/mappings/README.md): a new layout is a YAML file.

Rows are assembled in Python (a layout is arbitrary YAML), but every distinct (field, value) is
parsed once per file (_Converter: a survey export has a handful of scores and dates in 100k
rows), column by column for rows that convert cleanly (the others go through the row-by-row
rules, which name the reason), ISO timestamps skip strptime, and .xlsx is read by calamine
(Rust) instead of openpyxl; the rows then go to the shared DuckDB dedupe/insert. A value the mapping does not know quarantines its row with the reason
`unmapped value <field>=<value>`; the row is never guessed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import yaml

from ingestion import schedule_exports
from ingestion.errors import IngestError
from ingestion.loader import Counts, FileContext, insert_new, quarantine_rows, stage_rows
from ingestion.schema import RAW_TABLES
from ingestion.util import decode_auto, mask_numbers, to_utc_naive

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"
KIND_TABLE = {
    "roster": "roster",
    "schedules": "schedules",
    "customer_surveys": "customer_surveys",
    "stress_survey": "stress_responses",
    "survey_waves": "survey_waves",
}
REQUIRED = {
    "roster": ["agent_id", "as_of_date"],
    "schedules": ["agent_id", "schedule_date", "start_ts", "end_ts", "activity"],
    "customer_surveys": ["contact_id"],
    "stress_survey": ["serial", "wave"],
    "survey_waves": ["wave", "project_group", "distributed"],
}
DATE_FIELDS = {"hire_date", "end_date", "as_of_date", "schedule_date"}
TS_FIELDS = {"start_ts", "end_ts", "responded_at", "submitted_at"}
INT_RANGES = {"csat": (1, 5), "nps": (0, 10), "distributed": (0, 10**7)}
BOOL_FIELDS = {"resolved"}
ENUMS = {
    "employment_type": {"full_time", "temporary"},
    "activity": {"work", "break", "lunch", "training", "meeting", "leave", "rest"},
}
TS_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
]
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
TRUE = {"true", "yes", "y", "1", "是"}
FALSE = {"false", "no", "n", "0", "否"}


@dataclass
class Mapping:
    path: Path
    kind: str
    filename: str | None
    headers_all: list[str]
    encoding: str = "auto"
    sheet: int | str = 0
    timezone: str = "Asia/Shanghai"
    date_formats: list[str] = field(default_factory=lambda: ["%Y-%m-%d", "%Y/%m/%d"])
    from_filename: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)


def load_mapping(path: Path) -> Mapping:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise IngestError(str(path), f"unreadable mapping file ({type(e).__name__})") from None
    kind = raw.get("kind")
    if kind not in KIND_TABLE:
        raise IngestError(str(path), f"mapping kind must be one of {sorted(KIND_TABLE)}, not {kind!r}")
    match = raw.get("match") or {}
    return Mapping(
        path=Path(path),
        kind=kind,
        filename=match.get("filename"),
        headers_all=[str(h) for h in match.get("headers_all") or []],
        encoding=raw.get("encoding", "auto"),
        sheet=raw.get("sheet", 0),
        timezone=raw.get("timezone", "Asia/Shanghai"),
        date_formats=raw.get("date_formats") or ["%Y-%m-%d", "%Y/%m/%d"],
        from_filename=raw.get("from_filename") or {},
        columns={str(k).strip(): str(v) for k, v in (raw.get("columns") or {}).items()},
        values={
            str(k): {str(a): b for a, b in (v or {}).items()} for k, v in (raw.get("values") or {}).items()
        },
        ignore=[str(x) for x in raw.get("ignore") or []],
    )


@cache
def builtin_mappings() -> list[Mapping]:
    return [load_mapping(p) for p in sorted(MAPPINGS_DIR.glob("*.yaml"))]


def _cell(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _read_xlsx(ctx: FileContext, sheet) -> list[tuple[int, list]]:
    """Every row of the sheet with its Excel row number (calamine: Rust, ~100x openpyxl's speed).
    Empty cells come back as '' (None after _cell); numbers as float, dates as date/datetime/time."""
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(ctx.path))
    except (python_calamine.CalamineError, OSError, ValueError) as e:
        raise IngestError(
            ctx.source_file, f"not a readable .xlsx workbook (truncated or not Excel: {type(e).__name__})"
        ) from None
    try:
        ws = wb.get_sheet_by_index(sheet) if isinstance(sheet, int) else wb.get_sheet_by_name(str(sheet))
    except (IndexError, KeyError, python_calamine.CalamineError, ValueError):
        raise IngestError(ctx.source_file, f"no sheet {sheet!r} in the workbook") from None
    try:
        # skip_empty_area=False: row i of the list is Excel row i + 1 even when the data starts lower.
        cells = ws.to_python(skip_empty_area=False)
    except (python_calamine.CalamineError, OSError, ValueError) as e:
        raise IngestError(ctx.source_file, f"workbook is damaged ({type(e).__name__})", 1) from None
    finally:
        wb.close()
    return [(i, list(r)) for i, r in enumerate(cells, start=1)]


def _read_table(ctx: FileContext, encoding: str, sheet) -> tuple[list[str], list[tuple[int, list]]]:
    """(header, [(line/row number, cells)]) from .xlsx or CSV; rejects unreadable files."""
    if ctx.path.suffix.lower() == ".xlsx":
        rows = _read_xlsx(ctx, sheet)
        rows = [(i, r) for i, r in rows if any(_cell(c) for c in r)]
        if not rows:
            raise IngestError(ctx.source_file, "empty workbook: no header row")
        header = [_cell(c) or "" for c in rows[0][1]]
        return header, rows[1:]
    text, _ = decode_auto(ctx.path.read_bytes(), ctx.source_file, encoding)
    reader = csv.reader(io.StringIO(text))
    rows = []
    try:
        for rec in reader:
            rows.append((reader.line_num, rec))
    except csv.Error as e:
        raise IngestError(ctx.source_file, f"file is truncated or not CSV ({e})", reader.line_num) from None
    rows = [(i, r) for i, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise IngestError(ctx.source_file, "empty file: no header row", 1)
    header = [c.strip().lstrip("\ufeff") for c in rows[0][1]]
    body = rows[1:]
    if body and not text.endswith(("\n", "\r")) and len(body[-1][1]) < len(header):
        raise IngestError(
            ctx.source_file,
            f"file is truncated: last line has {len(body[-1][1])} of {len(header)} fields",
            body[-1][0],
        )
    return header, body


def _matches(m: Mapping, name: str, header: list[str]) -> bool:
    if m.filename and not re.search(m.filename, name, re.IGNORECASE):
        return False
    return set(m.headers_all) <= set(header)


def _parse_date(v, formats: list[str]) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    s = _cell(v)
    for fmt in [*formats, "%Y-%m-%d"]:  # ISO always works (dates taken from file names)
        try:
            return datetime.strptime(s, fmt).date()
        except (ValueError, TypeError):
            pass
    return None


def _parse_local(v, formats: list[str]) -> datetime | time | None:
    """A local datetime, or a bare time of day (schedules give date and time separately)."""
    if isinstance(v, datetime):
        return v
    if isinstance(v, time):
        return v
    s = _cell(v)
    if s is None:
        return None
    if len(s) >= 16 and s[4] == "-" and s[10] in " T":
        # ISO text parses the same through fromisoformat and through the first TS_FORMATS,
        # without strptime's cost (the bulk of a big survey or schedule export).
        try:
            return datetime.fromisoformat(s)
        except ValueError:
            pass
    for fmt in TS_FORMATS + [f + " %H:%M:%S" for f in formats] + [f + " %H:%M" for f in formats]:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(s, fmt).time()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return None


class _Bad(Exception):
    pass


def _map_value(m: Mapping, fld: str, value, map_key: str | None = None):
    """Apply the mapping's value map for `fld` (if any); unknown values are a quarantine reason."""
    vmap = m.values.get(map_key or fld)
    s = _cell(value)
    if vmap is None or s is None:
        return value if s is not None else None
    if s in vmap:
        return vmap[s]
    targets = {str(t) for t in vmap.values() if t is not None}
    if s in targets:
        return s
    raise _Bad(f"unmapped value {fld}={s[:40]}")


def _convert(m: Mapping, fld: str, value):
    value = _map_value(m, fld, value)
    if value is None:
        return None
    if fld in DATE_FIELDS:
        d = _parse_date(value, m.date_formats)
        if d is None:
            raise _Bad(f"bad date {fld}")
        return d
    if fld in TS_FIELDS:
        t = _parse_local(value, m.date_formats)
        if t is None:
            raise _Bad(f"bad timestamp {fld}")
        return t
    if fld in INT_RANGES:
        try:
            n = float(value)
        except (TypeError, ValueError):
            raise _Bad(f"bad number {fld}") from None
        lo, hi = INT_RANGES[fld]
        if not n.is_integer() or not lo <= n <= hi:
            raise _Bad(f"{fld} out of range {lo}-{hi}")
        return int(n)
    if fld in BOOL_FIELDS:
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in TRUE:
            return True
        if s in FALSE:
            return False
        raise _Bad(f"unmapped value {fld}={s[:40]}")
    if fld in ENUMS and str(value) not in ENUMS[fld]:
        raise _Bad(f"unmapped value {fld}={str(value)[:40]}")
    if fld == "comment":  # free text: a number typed into it must not reach the warehouse
        return mask_numbers(str(value).strip())
    if fld == "skills":
        return ";".join(p for p in re.split(r"[;,，、/\s]+", str(value)) if p)
    return str(value).strip() if isinstance(value, str) else _cell(value)


def _to_utc(t, m: Mapping, base: date | None) -> datetime | None:
    if t is None:
        return None
    if isinstance(t, time):
        if base is None:
            raise _Bad("time of day without a date")
        t = datetime.combine(base, t)
    return to_utc_naive(t, m.timezone)


def _item_answer(m: Mapping, fld: str, value) -> int | None:
    code = fld.split(":", 1)[1]
    ans = _map_value(m, fld, value, "*items") if "*items" in m.values else value
    if ans is None:
        return None
    try:
        n = float(ans)
    except (TypeError, ValueError):
        raise _Bad(f"unmapped value {code}={str(ans)[:40]}") from None
    if not n.is_integer() or not 1 <= n <= 5:
        raise _Bad(f"{code} out of range 1-5")
    return int(n)


class _Converter:
    """_convert / _item_answer per distinct (field, value): a column holds few distinct values
    (scores, dates, activities, shift times), so a big export costs one parse per value, not per cell.
    Rejections are remembered too and raised again for every cell holding that value."""

    def __init__(self, m: Mapping):
        self.m = m
        self._seen: dict[tuple, tuple[bool, object]] = {}

    def result(self, fld: str, value) -> tuple[bool, object]:
        """(True, converted value) or (False, quarantine reason), cached like __call__."""
        key = (fld, type(value), value)
        hit = self._seen.get(key)
        if hit is None:
            try:
                self(fld, value)
            except _Bad:
                pass
            hit = self._seen[key]
        return hit

    def __call__(self, fld: str, value):
        key = (fld, type(value), value)
        hit = self._seen.get(key)
        if hit is None:
            try:
                out = (
                    _item_answer(self.m, fld, value)
                    if fld.startswith("item:")
                    else _convert(self.m, fld, value)
                )
                hit = (True, out)
            except _Bad as e:
                hit = (False, str(e))
            self._seen[key] = hit
        ok, out = hit
        if not ok:
            raise _Bad(out)
        return out


def _row_record(
    m: Mapping, fields: dict, convert: _Converter | None = None
) -> tuple[dict, list[tuple[str, int | None]]]:
    convert = convert or _Converter(m)
    rec: dict = {}
    items: list[tuple[str, int | None]] = []
    for fld, value in fields.items():
        if fld.startswith("item:"):
            items.append((fld.split(":", 1)[1], convert(fld, value)))
        else:
            rec[fld] = convert(fld, value)
    missing = [f for f in REQUIRED[m.kind] if rec.get(f) in (None, "")]
    if missing:
        raise _Bad(f"missing {', '.join(missing)}")
    return _finish_record(m, rec), items


def _finish_record(m: Mapping, rec: dict) -> dict:
    """The per-row steps after each field is converted: schedule times on the schedule date
    (an end at or before the start is the next day's), survey times to UTC."""
    if m.kind == "schedules":
        start = rec["start_ts"]
        end = rec["end_ts"]
        bare_end = isinstance(end, time)
        rec["start_ts"] = _to_utc(start, m, rec["schedule_date"])
        rec["end_ts"] = _to_utc(end, m, rec["schedule_date"])
        if rec["end_ts"] <= rec["start_ts"]:
            if not bare_end:
                raise _Bad("negative duration (end before start)")
            rec["end_ts"] = _to_utc(datetime.combine(rec["schedule_date"] + timedelta(days=1), end), m, None)
    for f in ("responded_at", "submitted_at"):
        if f in rec:
            rec[f] = _to_utc(rec[f], m, None)
    return rec


def _records_by_column(
    m: Mapping,
    body: list[tuple[int, list]],
    from_name: dict,
    index: dict[str, int],
    convert: _Converter,
    out_cols: list[str],
) -> tuple[list[tuple], list[tuple[int, dict]]]:
    """Rows whose every field converts and whose required fields are present, converted column by
    column (one cached lookup per cell instead of a per-row dict, call chain and key tuple);
    returns (staged rows, [(index into body, field dict)] for the others). The others go through
    _row_record one by one, which names their quarantine reason exactly as before; so does a
    row whose finishing step (_finish_record) fails."""
    sources: dict[str, tuple[bool, object]] = {f: (False, v) for f, v in from_name.items()}
    for h, i in index.items():
        sources[m.columns[h]] = (True, i)
    n = len(body)
    clean = [True] * n
    columns: dict[str, list] = {}
    for fld, (is_cell, src) in sources.items():
        if not is_cell:
            ok, val = convert.result(fld, src)
            if not ok:
                clean = [False] * n
            columns[fld] = [val] * n
            continue
        seen: dict[tuple, tuple[bool, object]] = {}
        out = [None] * n
        for j, (_, cells) in enumerate(body):
            v = cells[src] if src < len(cells) else None
            key = (v.__class__, v)
            hit = seen.get(key)
            if hit is None:
                hit = seen[key] = convert.result(fld, v)
            if hit[0]:
                out[j] = hit[1]
            else:
                clean[j] = False
        columns[fld] = out
    for f in REQUIRED[m.kind]:
        col = columns.get(f)
        if col is None:
            clean = [False] * n
            break
        for j, v in enumerate(col):
            if v is None or v == "":
                clean[j] = False
    fields = list(sources)
    field_cols = [columns[f] for f in fields]
    rows, others = [], []
    for j, (line, cells) in enumerate(body):
        if clean[j]:
            rec = {f: col[j] for f, col in zip(fields, field_cols, strict=True)}
            try:
                rec = _finish_record(m, rec)
            except _Bad:
                clean[j] = False
            else:
                rows.append(tuple(rec.get(c) for c in out_cols) + (line,))
                continue
        raw_fields = dict(from_name)
        for h, i in index.items():
            raw_fields[m.columns[h]] = cells[i] if i < len(cells) else None
        others.append((j, raw_fields))
    return rows, others


def decide_row(
    m: Mapping,
    from_name: dict,
    index: dict[str, int],
    cells: list,
    convert: _Converter,
    out_cols: list[str],
    line: int,
) -> tuple[tuple | None, tuple[int, str, str] | None]:
    """One row by the row-by-row rules: (raw columns + line, None), or (None, (line, quarantine
    reason, masked record)) naming the first failing field in header order, then missing fields,
    then the finishing step."""
    fields = dict(from_name)
    for h, i in index.items():
        fields[m.columns[h]] = cells[i] if i < len(cells) else None
    try:
        rec, _ = _row_record(m, fields, convert)
    except _Bad as e:
        raw = ",".join("" if c is None else str(c) for c in cells)
        return None, (line, str(e), mask_numbers(raw)[:2000])
    return tuple(rec.get(c) for c in out_cols) + (line,), None


def _malformed(line: int, cells: list, n_header: int) -> tuple[int, str, str]:
    return line, f"malformed line: {len(cells)} fields, header has {n_header}", mask_numbers(",".join(cells))


def read(ctx: FileContext) -> Counts:
    explicit = load_mapping(ctx.mapping) if ctx.mapping else None
    candidates = [explicit] if explicit else builtin_mappings()
    encodings = {c.encoding for c in candidates}
    header, body, mapping = None, None, None
    for enc in sorted(encodings):
        header, body = _read_table(ctx, enc, candidates[0].sheet if explicit else 0)
        found = [
            c for c in candidates if c.encoding == enc and (explicit or _matches(c, ctx.path.name, header))
        ]
        if found:
            mapping = found[0]
            break
    if mapping is None:
        raise IngestError(
            ctx.source_file, "no mapping file matches this file name and header; pass --mapping", 1
        )
    missing_headers = [h for h in mapping.headers_all if h not in header]
    if missing_headers:
        raise IngestError(
            ctx.source_file,
            f"header does not match mapping {mapping.path.name} (wrong encoding or layout?): missing {missing_headers}",
            1,
        )
    if mapping.sheet != 0 and ctx.path.suffix.lower() == ".xlsx":
        header, body = _read_table(ctx, mapping.encoding, mapping.sheet)
    counts = Counts(source=mapping.kind)
    unknown = [h for h in header if h and h not in mapping.columns and h not in mapping.ignore]
    if unknown:
        counts.notes.append(f"unmapped columns ignored: {unknown}")
    from_name = {}
    for fld, pattern in mapping.from_filename.items():
        mm = re.search(pattern, ctx.path.name)
        if mm and mm.groupdict().get(fld):
            from_name[fld] = mm.group(fld)
    index = {h: i for i, h in enumerate(header) if h in mapping.columns}
    table = KIND_TABLE[mapping.kind]
    out_cols = [c for c, _ in RAW_TABLES[table]]
    rows, answers, bad = [], [], []
    convert = _Converter(mapping)
    is_csv = ctx.path.suffix.lower() != ".xlsx"
    if mapping.kind != "stress_survey":  # item answers (long format) only on the row-by-row path
        counts.rows_read = len(body)
        well_formed = []
        for line, cells in body:
            if is_csv and len(cells) != len(header):
                bad.append(_malformed(line, cells, len(header)))
            else:
                well_formed.append((line, cells))
        rows, others = _records_by_column(mapping, well_formed, from_name, index, convert, out_cols)
        for j, _fields in others:
            line, cells = well_formed[j]
            row, rejected = decide_row(mapping, from_name, index, cells, convert, out_cols, line)
            if rejected is not None:
                bad.append(rejected)
            else:  # not expected (the column path and _row_record agree); kept, in line order
                rows.append(row)
        rows.sort(key=lambda r: r[-1])
        bad.sort(key=lambda b: b[0])
        body = []
    for line, cells in body:
        counts.rows_read += 1
        if is_csv and len(cells) != len(header):
            bad.append(_malformed(line, cells, len(header)))
            continue
        fields = dict(from_name)
        for h, i in index.items():
            fields[mapping.columns[h]] = cells[i] if i < len(cells) else None
        try:
            rec, items = _row_record(mapping, fields, convert)
        except _Bad as e:
            raw = ",".join("" if c is None else str(c) for c in cells)
            bad.append((line, str(e), mask_numbers(raw)[:2000]))
            continue
        if mapping.kind == "stress_survey":
            rec["response_id"] = f"{rec['wave']}-{rec['serial']}"
            answers.extend((rec["response_id"], code, ans, line) for code, ans in items)
        rows.append(tuple(rec.get(c) for c in out_cols) + (line,))
    counts.rows_quarantined = quarantine_rows(ctx, mapping.kind, bad)
    stage_rows(ctx.con, "_mapped", RAW_TABLES[table] + [("source_line", "bigint")], rows)
    ctx.con.execute("alter table _mapped add column reject_reason varchar")
    if table == schedule_exports.TABLE:
        replaced = schedule_exports.replace_planned_days(
            ctx.con,
            "_mapped",
            where="reject_reason is null",
            replaced_at=ctx.loaded_at,
            source_file=ctx.source_file,
        )
        counts.notes += [schedule_exports.replaced_note(*n) for n in replaced.values()]
    counts.rows_loaded, counts.rows_duplicate = insert_new(ctx, table, "_mapped")
    counts.add_table(table, counts.rows_loaded)
    if mapping.kind == "stress_survey":
        stage_rows(ctx.con, "_answers", RAW_TABLES["stress_answers"] + [("source_line", "bigint")], answers)
        ctx.con.execute("alter table _answers add column reject_reason varchar")
        ctx.con.execute(
            """delete from _answers where response_id not in
               (select response_id from raw.stress_responses where source_file = ? and loaded_at = ?)""",
            [ctx.source_file, ctx.loaded_at],
        )
        n_answers, _ = insert_new(ctx, "stress_answers", "_answers")
        counts.add_table("stress_answers", n_answers)
        ctx.con.execute("drop table _answers")
    counts.notes.insert(0, f"mapping {mapping.path.name}")
    ctx.con.execute("drop table _mapped")
    return counts
