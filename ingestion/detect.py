"""`--format auto`: tell a file's format from its name, its landing folder and its first bytes."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ingestion.errors import IngestError

CANONICAL_SEGMENT_MARKERS = {"contact_id", "segment_seq", "queue_entry_ts"}
CANONICAL_STATE_MARKERS = {"agent_id", "state", "start_ts"}
_QUEUE_LOG_LINE = re.compile(r"^\d{9,10}(?:\.\d+)?\|[^|]*\|[^|]*\|[^|]*\|[A-Z_]+")


def _head(path: Path, n: int = 65536) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def csv_header(path: Path) -> list[str]:
    head = _head(path).decode("utf-8-sig", errors="replace")
    first = head.splitlines()[0] if head else ""
    return [c.strip() for c in next(csv.reader(io.StringIO(first)), [])]


def detect_format(path: Path, source_file: str, mapping: Path | None = None) -> str:
    name = path.name.lower()
    folder = path.parent.name.lower()
    suffix = path.suffix.lower()
    if mapping is not None:
        return "mapped"
    if suffix == ".parquet":
        return "canonical"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "amazon-connect-ctr"
    if name.startswith("queue_log"):
        return "asterisk-queue-log"
    if name.startswith("master") and suffix == ".csv":
        return "asterisk-cdr"
    head = _head(path, 4096)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if folder == "amazon_connect" or text.lstrip().startswith("{"):
        return "amazon-connect-ctr"
    if _QUEUE_LOG_LINE.match(text):
        return "asterisk-queue-log"
    if folder == "asterisk":
        return "asterisk-cdr"
    if suffix == ".xlsx":
        return "mapped"
    if suffix in (".csv", ".txt", ".tsv"):
        header = set(csv_header(path))
        if CANONICAL_SEGMENT_MARKERS <= header or CANONICAL_STATE_MARKERS <= header:
            return "canonical"
        return "mapped"
    raise IngestError(
        source_file,
        "cannot tell the format from the name or content; pass --format "
        "(canonical, asterisk-queue-log, asterisk-cdr, amazon-connect-ctr, mapped)",
        1,
    )
