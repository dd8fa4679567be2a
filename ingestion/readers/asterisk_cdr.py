"""Asterisk CDR `Master.csv` (cdr_csv: no header, every field quoted).

Columns: accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start,
answer, end, duration, billsec, disposition, amaflags, then uniqueid (loguniqueid=yes), userfield
(loguserfield=yes), then peeraccount, linkedid, sequence (newcdrcolumns=yes): 16, 17, 18 or 21 fields.
start/answer/end are PBX local time (ingestion/config/sources.yaml: asterisk_cdr).

How it complements queue_log (DECISIONLOG.md): queue_log is the source of contacts; the CDR adds
the caller for calls whose ENTERQUEUE carried none, joined on uniqueid = queue_log callid. CDR
rows are stored in raw.asterisk_cdr (the caller as caller_key, clid dropped) and never create
contacts of their own.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from datetime import datetime

from ingestion.errors import IngestError
from ingestion.loader import Counts, FileContext, insert_new, quarantine_rows, stage_rows
from ingestion.util import decode_strict, mask_numbers, source_time_zone, to_utc_naive

BASE = [
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
    "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
]  # fmt: skip
LAYOUTS = {
    16: BASE,
    17: BASE + ["uniqueid"],
    18: BASE + ["uniqueid", "userfield"],
    21: BASE + ["uniqueid", "userfield", "peeraccount", "linkedid", "sequence"],
}
DISPOSITIONS = {"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION"}
CDR_COLUMNS = [
    ("cdr_key", "varchar"),
    ("uniqueid", "varchar"),
    ("linkedid", "varchar"),
    ("caller_key", "varchar"),
    ("dst", "varchar"),
    ("dcontext", "varchar"),
    ("channel", "varchar"),
    ("dstchannel", "varchar"),
    ("lastapp", "varchar"),
    ("start_ts", "timestamp"),
    ("answer_ts", "timestamp"),
    ("end_ts", "timestamp"),
    ("duration_s", "double"),
    ("billsec_s", "double"),
    ("disposition", "varchar"),
    ("accountcode", "varchar"),
    ("userfield", "varchar"),
    ("source_line", "bigint"),
]


def _local(value: str, tz: str) -> datetime | None:
    try:
        return to_utc_naive(datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S"), tz)
    except ValueError:
        return None


def read(ctx: FileContext) -> Counts:
    text = decode_strict(ctx.path.read_bytes(), ctx.source_file, "utf-8")
    ends_with_newline = text.endswith("\n")
    physical = text.splitlines()
    last = len(physical)
    tz = source_time_zone("asterisk_cdr")
    counts = Counts(source="asterisk_cdr")
    rows, bad = [], []
    reader = csv.reader(io.StringIO(text))
    try:
        records = [(reader.line_num, rec) for rec in reader]
    except csv.Error as e:
        raise IngestError(ctx.source_file, f"not a CSV file ({e})", reader.line_num) from None
    for line_no, rec in records:
        if not rec or all(not f.strip() for f in rec):
            continue
        counts.rows_read += 1
        problem = None
        layout = LAYOUTS.get(len(rec))
        f = dict(zip(layout, rec, strict=True)) if layout else {}
        start = _local(f.get("start", ""), tz) if layout else None
        answer = _local(f["answer"], tz) if layout and f["answer"].strip() else None
        end = _local(f["end"], tz) if layout and f["end"].strip() else None
        if layout is None:
            problem = f"malformed line: {len(rec)} fields, expected 16, 17, 18 or 21 (cdr_csv)"
        elif start is None:
            problem = "bad timestamp start"
        elif (f["answer"].strip() and answer is None) or (f["end"].strip() and end is None):
            problem = "bad timestamp answer/end"
        elif not f["duration"].strip().isdigit() or not f["billsec"].strip().isdigit():
            problem = (
                "negative duration"
                if f["duration"].strip().startswith("-") or f["billsec"].strip().startswith("-")
                else "bad number duration/billsec"
            )
        elif f["disposition"].strip().upper() not in DISPOSITIONS:
            problem = f"unknown disposition {f['disposition'][:30]}"
        if problem and line_no >= last and not ends_with_newline:
            raise IngestError(
                ctx.source_file, f"file is truncated: last line is cut off ({problem})", line_no
            )
        caller_key = None
        if not problem:
            caller_key, problem = ctx.pseudonymiser.key_of(f["src"] or f["clid"] or None)
        if problem:
            bad.append((line_no, problem, mask_numbers(",".join(rec))))
            continue
        key = hmac.new(ctx.hmac_key, "\x1f".join(rec).encode(), hashlib.sha256).hexdigest()[:32]
        rows.append(
            (
                key,
                f.get("uniqueid") or None,
                f.get("linkedid") or None,
                caller_key,
                f["dst"],
                f["dcontext"],
                f["channel"],
                f["dstchannel"],
                f["lastapp"],
                start,
                answer,
                end,
                float(f["duration"]),
                float(f["billsec"]),
                f["disposition"].strip().upper(),
                f["accountcode"] or None,
                f.get("userfield") or None,
                line_no,
            )  # fmt: skip
        )
    counts.rows_quarantined = quarantine_rows(ctx, "asterisk_cdr", bad)
    stage_rows(ctx.con, "_cdr", CDR_COLUMNS, rows)
    ctx.con.execute("alter table _cdr add column reject_reason varchar")
    cols = [c for c, _ in CDR_COLUMNS if c != "source_line"]
    counts.rows_loaded, counts.rows_duplicate = insert_new(
        ctx, "asterisk_cdr", "_cdr", key=["cdr_key"], target="raw.asterisk_cdr", columns=cols
    )
    # Callers for queue_log contacts that had none (whichever file arrived first).
    enriched = ctx.con.execute(
        """update raw.contact_segments s set caller_key = c.caller_key
           from (select uniqueid, min(caller_key) as caller_key from raw.asterisk_cdr
                 where source_file = ? and loaded_at = ? and caller_key is not null
                 group by uniqueid) c
           where s.source_system = 'asterisk' and s.contact_id = c.uniqueid and s.caller_key is null""",
        [ctx.source_file, ctx.loaded_at],
    ).fetchone()[0]
    if enriched:
        counts.notes.append(f"caller added to {enriched} queue_log segments")
    ctx.con.execute("drop table _cdr")
    return counts
