"""`--dirty`: damage the landing files the way real feeds get damaged, and say exactly how.

``truth/fault_manifest.json`` lists every injected fault with the file (relative to the data
dir), 1-based physical line numbers (a CSV header is line 1), the record keys involved and the
effect ingestion is expected to have: ``quarantine`` (with a reason category), ``duplicate``,
``loaded`` (the record is fine, e.g. arrives late) or ``reject_file``. ``files`` gives, per
touched file, how many data rows it holds and how many should be loaded / quarantined /
duplicate, so "nothing lost, nothing doubled" is one comparison per file.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

SKEW_S = 90


class _CsvFile:
    """A CSV as header + rows, each row tagged with the fault it carries (if any)."""

    def __init__(self, path: Path):
        self.path = path
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        self.header = lines[0]
        self.columns = next(csv.reader([self.header]))
        self.rows: list[dict] = [{"text": t, "tag": None} for t in lines[1:]]

    def fields(self, i: int) -> dict:
        return dict(zip(self.columns, next(csv.reader([self.rows[i]["text"]])), strict=False))

    def set_fields(self, i: int, values: dict, tag) -> None:
        f = self.fields(i)
        f.update(values)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow([f[c] for c in self.columns])
        self.rows[i] = {"text": buf.getvalue(), "tag": tag}

    def free(self, rng: np.random.Generator, k: int, where=None) -> list[int]:
        """k untouched rows (never the last one)."""
        cand = [
            i
            for i, r in enumerate(self.rows[:-1])
            if r["tag"] is None and (where is None or where(self.fields(i)))
        ]
        if not cand:
            return []
        return sorted(rng.choice(cand, size=min(k, len(cand)), replace=False).tolist())

    def write(self) -> dict[int, int]:
        """Write back; returns {row index: physical line number}."""
        lines = [self.header] + [r["text"] for r in self.rows]
        text = "\n".join(lines) + "\n"
        self.path.write_text(text, encoding="utf-8")
        return {i: i + 2 for i in range(len(self.rows))}


def _key(f: dict) -> list:
    return [f.get("contact_id"), int(f.get("segment_seq") or 0)]


def _partial_copy(src: Path, dest: Path, rel) -> dict:
    """A partial upload of `src`: its last line cut in the middle. Rejected whole by ingestion."""
    text = src.read_text(encoding="utf-8").rstrip("\n")
    last_line = text.rsplit("\n", 1)[-1]
    dest.write_text(text[: len(text) - len(last_line) // 2], encoding="utf-8")
    return {
        "kind": "truncated_mid_line",
        "file": rel(dest),
        "copy_of": rel(src),
        "lines": [text.count("\n") + 1],
        "expected": {"effect": "reject_file", "reason": "truncated mid-line"},
    }


def inject_faults(data_dir: Path, files: list[Path], telephony: str, rng: np.random.Generator):
    faults: list[dict] = []
    per_file: dict[str, dict] = {}
    rel = lambda p: str(Path(p).relative_to(data_dir))  # noqa: E731
    new_files: list[Path] = []

    if telephony == "canonical":
        seg_csv = sorted(p for p in files if p.parent.name == "contact_segments" and p.suffix == ".csv")
        seg_parquet = sorted(
            p for p in files if p.parent.name == "contact_segments" and p.suffix == ".parquet"
        )
        if not seg_csv:
            raise ValueError("--dirty needs at least one CSV day of contact segments (simulate 2+ days)")
        pick = lambda k: seg_csv[k % len(seg_csv)]  # noqa: E731
        edits: dict[Path, _CsvFile] = {}
        edit = lambda p: edits.setdefault(p, _CsvFile(p))  # noqa: E731

        # 1. one file carries row-level damage
        a = edit(pick(0))
        for i in a.free(rng, 3, lambda f: f["talk_s"] not in ("", None)):
            a.set_fields(
                i,
                {"talk_s": str(-float(a.fields(i)["talk_s"]))},
                ("negative_duration", "quarantine", "negative_duration"),
            )
        for i in a.free(rng, 3):
            a.set_fields(
                i,
                {"outcome": str(rng.choice(["ABDN", "callback_requested", "answered_2"]))},
                ("unknown_outcome", "quarantine", "unknown_outcome"),
            )
        for i in a.free(
            rng,
            5,
            lambda f: f["caller_number"].lstrip("+0").startswith("861") or f["caller_number"].startswith("1"),
        ):
            national = a.fields(i)["caller_number"].lstrip("+")
            national = (
                national[4:]
                if national.startswith("0086")
                else national[2:]
                if national.startswith("86")
                else national
            )
            a.set_fields(
                i,
                {"caller_number": f"{float(national):.2E}"},
                ("excel_mangled_phone", "quarantine", "excel-mangled caller number"),
            )
        for i in a.free(rng, 5):  # the export ran twice into one file: exact copies appended
            a.rows.append({"text": a.rows[i]["text"], "tag": ("duplicate_rows", "duplicate", None)})
            a.rows[i]["keep_here"] = True  # the original must stay first in this file
        for pos, junk in zip(
            sorted(rng.choice(len(a.rows) - 1, size=3, replace=False).tolist(), reverse=True),
            [
                '"canonical","C-broken",1,"voice"',
                "#### export interrupted ####",
                '"canonical","C9999999999","x","voice","inbound",,,,,,,,,,,,,,,,,"extra"',
            ],
            strict=True,
        ):
            a.rows.insert(pos, {"text": junk, "tag": ("malformed_line", "quarantine", "malformed_line")})

        # 2. a partial upload: a copy of another day whose last line is cut in the middle. A file
        #    that cannot be read to its end is rejected whole (the complete day is delivered too).
        d = _CsvFile(pick(1))
        partial = d.path.with_name(d.path.stem + "_partial.csv")
        body = "\n".join([d.header] + [r["text"] for r in d.rows])
        partial.write_text(body[: len(body) - len(d.rows[-1]["text"]) // 2], encoding="utf-8")
        new_files.append(partial)
        faults.append(
            {
                "kind": "truncated_mid_line",
                "file": rel(partial),
                "copy_of": rel(d.path),
                "lines": [len(d.rows) + 1],
                "expected": {"effect": "reject_file", "reason": "truncated mid-line"},
            }
        )
        per_file[rel(partial)] = {"status": "rejected"}

        # 3. a late-arriving file: one queue's rows of an old day, delivered after the rest
        c = edit(pick(3))
        late_idx = [
            i
            for i, r in enumerate(c.rows[:-1])
            if r["tag"] is None and not r.get("keep_here") and c.fields(i).get("queue_code") == "intl_support"
        ]
        if late_idx:
            late_path = c.path.with_name(c.path.stem + "_late.csv")
            late_rows = [c.rows[i]["text"] for i in late_idx]
            keys = [_key(c.fields(i)) for i in late_idx]
            for i in reversed(late_idx):
                del c.rows[i]
            late_path.write_text(c.header + "\n" + "\n".join(late_rows) + "\n", encoding="utf-8")
            new_files.append(late_path)
            faults.append(
                {
                    "kind": "late_file",
                    "file": rel(late_path),
                    "for_file": rel(c.path),
                    "lines": f"2-{len(late_rows) + 1}",
                    "record_keys": keys,
                    "expected": {"effect": "loaded"},
                }
            )
            per_file[rel(late_path)] = {
                "data_rows": len(late_rows),
                "loaded": len(late_rows),
                "quarantined": 0,
                "duplicate": 0,
            }

        # 4. a re-exported overlapping day: the afternoon of one day again, in a file of its own
        b = edit(pick(2))
        clean = [i for i, r in enumerate(b.rows) if r["tag"] is None]
        again = clean[int(len(clean) * 0.7) :]
        reexport = b.path.with_name(b.path.stem + "_reexport.csv")
        reexport.write_text(
            b.header + "\n" + "\n".join(b.rows[i]["text"] for i in again) + "\n", encoding="utf-8"
        )
        new_files.append(reexport)
        faults.append(
            {
                "kind": "reexported_overlap",
                "file": rel(reexport),
                "lines": f"2-{len(again) + 1}",
                "overlaps": rel(b.path),
                "record_keys": [_key(b.fields(i)) for i in again],
                "expected": {"effect": "duplicate"},
            }
        )
        per_file[rel(reexport)] = {
            "data_rows": len(again),
            "loaded": 0,
            "quarantined": 0,
            "duplicate": len(again),
        }

        for p, e in edits.items():
            keys_by_row = {
                i: (
                    r.get("key")
                    or (_key(e.fields(i)) if r["tag"] and r["tag"][0] != "malformed_line" else None)
                )
                for i, r in enumerate(e.rows)
                if r["tag"]
            }
            lines = e.write()
            counts = {"data_rows": len(e.rows), "loaded": 0, "quarantined": 0, "duplicate": 0}
            grouped: dict[str, dict] = {}
            for i, r in enumerate(e.rows):
                tag = r["tag"]
                effect = tag[1] if tag else "loaded"
                counts[
                    {"loaded": "loaded", "quarantine": "quarantined", "duplicate": "duplicate"}[effect]
                ] += 1
                if tag:
                    g = grouped.setdefault(
                        tag[0],
                        {
                            "kind": tag[0],
                            "file": rel(p),
                            "lines": [],
                            "record_keys": [],
                            "expected": {"effect": effect},
                        },
                    )
                    if tag[2]:
                        g["expected"]["reason"] = tag[2]
                    g["lines"].append(lines[i])
                    if keys_by_row.get(i):
                        g["record_keys"].append(keys_by_row[i])
            faults.extend(grouped.values())
            per_file[rel(p)] = counts

        # 5. a resent Parquet file cut short in transfer: unreadable, rejected whole (its rows exist elsewhere)
        if seg_parquet:
            src = seg_parquet[0]
            broken = src.with_name(src.stem + "_resend.parquet")
            data = src.read_bytes()
            broken.write_bytes(data[: int(len(data) * 0.6)])
            new_files.append(broken)
            faults.append(
                {
                    "kind": "truncated_file",
                    "file": rel(broken),
                    "copy_of": rel(src),
                    "expected": {"effect": "reject_file"},
                }
            )
            per_file[rel(broken)] = {"status": "rejected"}
        # late files arrive last: make their modification time the newest
        newest = max(p.stat().st_mtime for p in files) + 3600
        for p in new_files:
            if p.name.endswith("_late.csv"):
                os.utime(p, (newest, newest))

    elif telephony == "asterisk":
        logs = sorted(p for p in files if p.name.startswith("queue_log"))
        target = logs[0]
        lines = target.read_text(encoding="utf-8").splitlines()
        positions = sorted(rng.choice(range(1, len(lines)), size=3, replace=False).tolist())
        junk = [
            "1772400000|garbage",
            "not a queue_log line",
            "1772400000|1772400000.9|presales|NONE|ENTERQUEUE",
        ]
        for k, (pos, j) in enumerate(zip(positions, junk, strict=True)):
            lines.insert(pos + k, j)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        faults.append(
            {
                "kind": "malformed_line",
                "file": rel(target),
                "lines": [p + k + 1 for k, p in enumerate(positions)],
                "expected": {"effect": "quarantine", "reason": "malformed_line"},
            }
        )
        partial = logs[-1].with_name(logs[-1].name + "_partial")
        faults.append(_partial_copy(logs[-1], partial, rel))
        new_files.append(partial)
        per_file[faults[-1]["file"]] = {"status": "rejected"}
    else:
        ctrs = sorted(p for p in files if p.suffix == ".jsonl")
        target = ctrs[0]
        lines = target.read_text(encoding="utf-8").splitlines()
        pos = int(rng.integers(1, len(lines)))
        lines.insert(pos, '{"AWSAccountId":"111122223333","ContactId":')
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        faults.append(
            {
                "kind": "malformed_line",
                "file": rel(target),
                "lines": [pos + 1],
                "expected": {"effect": "quarantine", "reason": "malformed_line"},
            }
        )
        partial = ctrs[-1].with_name(ctrs[-1].stem + "_partial.jsonl")
        faults.append(_partial_copy(ctrs[-1], partial, rel))
        new_files.append(partial)
        per_file[faults[-1]["file"]] = {"status": "rejected"}

    # clock skew: one day of agent states comes from a server whose clock runs 90 s fast
    state_csv = sorted(p for p in files if p.parent.name == "agent_states" and p.suffix == ".csv")
    if state_csv:
        p = state_csv[len(state_csv) // 2]
        table = pacsv.read_csv(
            p, convert_options=pacsv.ConvertOptions(column_types={"start_ts": "string", "end_ts": "string"})
        )
        df = table.to_pandas()
        for col in ("start_ts", "end_ts"):
            ts = pd.to_datetime(df[col], utc=True) + pd.Timedelta(seconds=SKEW_S)
            df[col] = ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        pacsv.write_csv(
            pa.Table.from_pandas(df, preserve_index=False), p, pacsv.WriteOptions(quoting_style="needed")
        )
        faults.append(
            {
                "kind": "clock_skew",
                "file": rel(p),
                "skew_s": SKEW_S,
                "relative_to": "contact segments",
                "expected": {"effect": "loaded"},
            }
        )

    reexport = _schedule_reexport(files, rng)
    if reexport is not None:
        path, source, agent_days, moved, rows = reexport
        new_files.append(path)
        faults.append(
            {
                "kind": "schedule_reexport",
                "file": rel(path),
                "overlaps": rel(source),
                "agent_days": agent_days,
                "expected": {"effect": "replaces_agent_days", "replaced": moved},
            }
        )
        per_file[rel(path)] = {
            "data_rows": rows,
            "loaded": moved,
            "quarantined": 0,
            "duplicate": rows - moved,
        }

    manifest = {
        "line_numbering": "1-based physical lines; a CSV header is line 1",
        "record_key": ["contact_id", "segment_seq"],
        "effects": {
            "quarantine": "row goes to raw.quarantine with the given reason category",
            "duplicate": "row counted as duplicate of an already loaded natural key, not loaded again",
            "loaded": "row loads normally (late or skewed data is still data)",
            "reject_file": "the whole file is rejected with a clear error; the warehouse is unchanged",
            "replaces_agent_days": "the file's agent-days replace the stored plan of those days: its changed "
            "rows load, `replaced` stored rows move to raw.schedules_replaced, unchanged rows are duplicates",
        },
        "faults": faults,
        "files": per_file,
    }
    path = data_dir / "truth" / "fault_manifest.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return sorted(set(files) | set(new_files)), path


def _schedule_reexport(files: list[Path], rng: np.random.Generator, days: int = 3, move_minutes: int = 30):
    """A WFM re-export of one month's Shanghai schedule (UTF-8 from the tool's web export): a few
    agent-days again, complete, with every break `move_minutes` later. Returns (path, the month's
    file, agent-days, breaks moved, rows) or None without a CSV schedule."""
    from datetime import datetime, timedelta

    from simulator.config import headers, load_mapping, value_label

    sched_csv = sorted(p for p in files if p.parent.name == "schedules" and p.suffix == ".csv")
    if not sched_csv:
        return None
    source = sched_csv[0]
    header, *body = list(csv.reader(io.StringIO(source.read_text(encoding="gb18030"))))
    m = load_mapping("schedules_sha_zh.yaml")
    agent, day, start, end, activity = (
        header.index(headers(m, f)) for f in ("agent_id", "schedule_date", "start_ts", "end_ts", "activity")
    )
    brk = value_label(m, "activity", "break")
    fmt = "%Y-%m-%d %H:%M"
    later = lambda t: (datetime.strptime(t, fmt) + timedelta(minutes=move_minutes)).strftime(fmt)  # noqa: E731
    break_starts = {(r[agent], r[start]) for r in body if r[activity] == brk}
    # agent-days whose breaks can move without landing on another break's start (same natural key)
    movable = sorted(
        {(r[agent], r[day]) for r in body if r[activity] == brk}
        - {
            (r[agent], r[day])
            for r in body
            if r[activity] == brk and (r[agent], later(r[start])) in break_starts
        }
    )
    if not movable:
        return None
    picked = {movable[i] for i in rng.choice(len(movable), size=min(days, len(movable)), replace=False)}
    rows, moved = [], 0
    for r in body:
        if (r[agent], r[day]) not in picked:
            continue
        r = list(r)
        if r[activity] == brk:
            r[start], r[end] = later(r[start]), later(r[end])
            moved += 1
        rows.append(r)
    path = source.with_name(source.stem + "_reexport.csv")
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path, source, sorted(list(k) for k in picked), moved, len(rows)
