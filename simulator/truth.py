"""Ground truth, written while the simulation runs (one pass, bounded memory).

* ``segments/part-<day>.parquet`` — every queue stint of the day;
* ``intervals.parquet`` — per queue × local 30-minute interval of queue entry: partial sums per
  day, added up at the end (a London interval can straddle two Shanghai days);
* ``contacts.parquet`` — per contact, in order of first entry. A contact's segments are
  complete once its last one is not a transfer (a transfer at 23:59 continues in the next day's
  chunk, so its rows wait one day). A day's contacts are written once eight later days are known:
  the next contact by the same caller (``next_contact_ts``, looked up within those eight days) and
  whether the 7-day window closed inside the data are decided by then.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from simulator.engine import ABANDONED, ANSWERED, EXIT_KEY, OUTCOMES, OVERFLOW, TIMEOUT, TRANSFERRED

KINDS = ("new", "transfer", "repeat")
WEEK_S = 7 * 86400
LOOKAHEAD_DAYS = 8
INTERVAL_S = 1800
# dictionary-encode only the columns with few distinct values (ids would only cost time)
LOW_CARDINALITY = ["queue_code", "site_code", "kind", "agent_id", "outcome", "transfer_to_queue", "first_queue_code",
                   "final_outcome"]  # fmt: skip
CONTACT_COLUMNS = (
    "contact", "seq", "q", "t", "end", "agent", "wait", "resolved", "complaint", "outcome", "kind",
    "caller", "first_entry",
)  # fmt: skip


def strings(values: list[str], codes: np.ndarray) -> pa.Array:
    """``values[codes]`` as an Arrow string array (null where the code is negative), without Python objects."""
    table = pa.array(list(values), pa.string())
    codes = np.asarray(codes)
    return table.take(pa.array(codes, mask=codes < 0))


def contact_ids(contact: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pc.cast(pa.array(contact), pa.string()), 10, "0"), ""
    )


def connect_contact_ids(contact: np.ndarray) -> pa.Array:
    """``render.connect_contact_id(contact_id, 1)`` for each contact (md5 of '<contact_id>/1' as a UUID)."""
    out = []
    for c in contact.tolist():
        h = hashlib.md5(f"C{c:010d}/1".encode()).hexdigest()
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}")
    return pa.array(out, pa.string())


def is_withheld(caller: np.ndarray) -> np.ndarray:
    return (caller * 2654435761 % 1000) < 30  # ~3% of callers withhold their number


def asterisk_uniqueids(first_entry: np.ndarray, contact: np.ndarray) -> pa.Array:
    """Asterisk's channel uniqueid: '<epoch of channel creation>.<sequence>', one per contact."""
    return pc.binary_join_element_wise(
        pc.cast(pa.array(first_entry), pa.string()), pc.cast(pa.array(contact), pa.string()), "."
    )


def local_offsets(tz: str, t0: int, t1: int) -> tuple[int, np.ndarray]:
    """UTC offset (s) of ``tz`` on a 30-minute grid from ``t0`` (DST switches fall on the grid)."""
    grid = np.arange(t0 - t0 % INTERVAL_S, t1 + INTERVAL_S, INTERVAL_S)
    utc = pd.to_datetime(grid, unit="s", utc=True)
    local = utc.tz_convert(tz).tz_localize(None)
    return int(grid[0]), ((local - utc.tz_localize(None)).total_seconds()).to_numpy().astype(np.int64)


class TruthWriter:
    def __init__(self, truth: Path, queues, t_first: int, telephony: str):
        self.truth, self.queues, self.t_first = truth, queues, t_first
        self.with_connect_ids = telephony == "amazon-connect"
        self.qcodes = [q.code for q in queues]
        self.sl = np.array([q.sl_threshold_s for q in queues], dtype=np.int64)
        self.short = np.array([q.short_abandon_s for q in queues], dtype=np.int64)
        self.interval_parts: list[pd.DataFrame] = []
        self.carry: dict[str, np.ndarray] | None = None
        self.pending: dict[int, dict] = {}  # first-entry day -> contact columns not yet written
        self.max_entry = -(2**62)
        self.days_done = -1
        self.contacts = 0
        truth.mkdir(parents=True, exist_ok=True)
        self.contacts_path = truth / "contacts.parquet"
        self.writer: pq.ParquetWriter | None = None

    # ------------------------------------------------------------------ per day
    def add_day(
        self, c: int, stamp: str, center, seg: dict[str, np.ndarray], first_entry: np.ndarray
    ) -> None:
        self._write_segments(center, seg, first_entry, self.truth / "segments" / f"part-{stamp}.parquet")
        if len(seg["t"]):
            self.max_entry = max(self.max_entry, int(seg["t"].max()))
            self.interval_parts.append(self._intervals(seg))
        rows = {k: (seg[k] if k != "first_entry" else first_entry) for k in CONTACT_COLUMNS}
        self._add_contacts(rows, final=False)
        self.days_done = c
        self._flush(final=False)

    def close(self) -> list[Path]:
        if self.carry is not None:
            carry, self.carry = self.carry, None
            self._add_contacts(carry, final=True)
        self._flush(final=True)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.contacts_path, _CONTACTS_SCHEMA)
        self.writer.close()
        return [self._write_intervals(), self.contacts_path]

    # ------------------------------------------------------------------ segments
    def _write_segments(self, center, seg, first_entry, path: Path) -> None:
        answered = seg["agent"] >= 0
        site_codes = sorted({q.site for q in self.queues})
        site_of_q = np.array([site_codes.index(q.site) for q in self.queues])
        caller = seg["caller"]
        table = pa.table(
            {
                "contact_id": contact_ids(seg["contact"]),
                "segment_seq": pa.array(seg["seq"], pa.int32()),
                "queue_code": strings(self.qcodes, seg["q"]),
                "site_code": strings(site_codes, site_of_q[seg["q"]]),
                "kind": strings(KINDS, seg["kind"]),
                "caller_ref": pa.array(caller, mask=is_withheld(caller)),
                "queue_entry_ts": pa.array(seg["t"].astype("datetime64[s]")),
                "answer_ts": pa.array(seg["answer"].astype("datetime64[s]"), mask=~answered),
                "end_ts": pa.array(seg["end"].astype("datetime64[s]")),
                "agent_id": strings(center.agent_id, np.where(answered, seg["agent"], -1)),
                "outcome": strings(OUTCOMES, seg["outcome"]),
                "wait_s": pa.array(seg["wait"]),
                "talk_s": pa.array(seg["talk"]),
                "hold_s": pa.array(seg["hold"]),
                "acw_s": pa.array(seg["acw"]),
                "truly_resolved": pa.array(seg["resolved"].astype(bool)),
                "complaint": pa.array(seg["complaint"].astype(bool)),
                "transfer_to_queue": strings(self.qcodes, seg["xfer_to"]),
                "asterisk_uniqueid": asterisk_uniqueids(first_entry, seg["contact"]),
            }
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, use_dictionary=LOW_CARDINALITY)

    # ------------------------------------------------------------------ intervals
    def _intervals(self, seg) -> pd.DataFrame:
        t, q = seg["t"], seg["q"]
        local = np.empty(len(t), dtype=np.int64)
        lo, hi = int(t.min()), int(t.max())
        for tz in {x.tz for x in self.queues}:
            m = np.isin(q, [i for i, x in enumerate(self.queues) if x.tz == tz])
            base, off = local_offsets(tz, lo, hi)
            local[m] = t[m] + off[(t[m] - base) // INTERVAL_S]
        o, w = seg["outcome"], seg["wait"]
        answered = (o == ANSWERED) | (o == TRANSFERRED)
        abandoned = o == ABANDONED
        within = w <= self.sl[q]
        df = pd.DataFrame(
            {
                "q": q,
                "interval": local - local % INTERVAL_S,
                "offered": 1,
                "answered": answered.astype(np.int64),
                "abandoned": abandoned.astype(np.int64),
                "short_abandoned": (abandoned & (w < self.short[q])).astype(np.int64),
                "timeout": (o == TIMEOUT).astype(np.int64),
                "exit_key": (o == EXIT_KEY).astype(np.int64),
                "overflow": (o == OVERFLOW).astype(np.int64),
                "answered_within_t": (answered & within).astype(np.int64),
                "abandoned_within_t": (abandoned & within).astype(np.int64),
                "answered_wait_s": np.where(answered, w, 0).astype(float),
                "abandoned_wait_s": np.where(abandoned, w, 0).astype(float),
                "talk_s": seg["talk"].astype(float),
                "hold_s": seg["hold"].astype(float),
                "acw_s": seg["acw"].astype(float),
            }
        )
        return df.groupby(["q", "interval"], sort=False).sum().reset_index()

    def _write_intervals(self) -> Path:
        path = self.truth / "intervals.parquet"
        cols = [f.name for f in _INTERVALS_SCHEMA][3:]
        if self.interval_parts:
            df = pd.concat(self.interval_parts).groupby(["q", "interval"]).sum().reset_index()
        else:
            df = pd.DataFrame({k: pd.Series(dtype="int64") for k in ["q", "interval", *cols]})
        df = df.sort_values(["q", "interval"], key=lambda s: s if s.name != "q" else s.map(self._q_rank))
        start = df["interval"].to_numpy().astype("datetime64[s]")
        table = pa.table(
            {
                "queue_code": strings(self.qcodes, df["q"].to_numpy()),
                "report_date": pa.array(start.astype("datetime64[D]")),
                "interval_start_local": pa.array(start.astype("datetime64[us]")),
                **{k: pa.array(df[k].to_numpy()) for k in cols},
            }
        )
        pq.write_table(table.cast(_INTERVALS_SCHEMA), path)
        return path

    def _q_rank(self, qi: int) -> int:
        return sorted(self.qcodes).index(self.qcodes[qi])  # rows ordered by queue code, as before

    # ------------------------------------------------------------------ contacts
    def _add_contacts(self, rows: dict[str, np.ndarray], final: bool) -> None:
        if self.carry is not None:
            rows = {k: np.concatenate([self.carry[k], rows[k]]) for k in rows}
            self.carry = None
        if not len(rows["contact"]):
            return
        order = np.lexsort((rows["seq"], rows["contact"]))
        r = {k: v[order] for k, v in rows.items()}
        starts = np.flatnonzero(np.r_[True, r["contact"][1:] != r["contact"][:-1]])
        lasts = np.r_[starts[1:] - 1, len(order) - 1]
        open_ = (r["outcome"][lasts] == TRANSFERRED) & (not final)
        if open_.any():  # the transfer continues in the next chunk: keep the contact's rows until then
            keep = np.repeat(open_, lasts - starts + 1)
            self.carry = {k: v[keep] for k, v in r.items()}
            r = {k: v[~keep] for k, v in r.items()}
            starts = (
                np.flatnonzero(np.r_[True, r["contact"][1:] != r["contact"][:-1]])
                if len(r["contact"])
                else starts[:0]
            )
            lasts = np.r_[starts[1:] - 1, len(r["contact"]) - 1] if len(starts) else lasts[:0]
        if not len(starts):
            return
        first_entry = np.minimum.reduceat(r["t"], starts)
        agent_legs = np.add.reduceat((r["agent"] >= 0).astype(np.int64), starts)
        seg_count = lasts - starts + 1
        contacts = {
            "contact": r["contact"][starts],
            "first_q": r["q"][starts],
            "first_entry": first_entry,
            "last_end": np.maximum.reduceat(r["end"], starts),
            "segments": seg_count.astype(np.int64),
            "agent_legs": agent_legs,
            "resolved": np.maximum.reduceat(r["resolved"].astype(np.int8), starts).astype(bool),
            "complaint": np.maximum.reduceat(r["complaint"].astype(np.int8), starts).astype(bool),
            "final_outcome": r["outcome"][lasts],
            "total_wait": np.add.reduceat(r["wait"], starts).astype(float),
            "kind": np.where(r["seq"][starts] == 1, r["kind"][starts], -1),
            "caller": r["caller"][starts],
            "uid_epoch": r["first_entry"][starts],
        }
        day = (first_entry - self.t_first) // 86400
        for d in np.unique(day):
            m = day == d
            part = {k: v[m] for k, v in contacts.items()}
            if int(d) in self.pending:
                part = {k: np.concatenate([self.pending[int(d)][k], part[k]]) for k in contacts}
            self.pending[int(d)] = part

    def _flush(self, final: bool) -> None:
        for d in sorted(self.pending):
            if not final and d + LOOKAHEAD_DAYS > self.days_done:
                break
            part = self.pending[d]
            if not final and (part["first_entry"] + WEEK_S > self.max_entry).any():
                break  # a window still open: wait for more data (or the end)
            self._write_contacts(d, self.pending.pop(d))

    def _write_contacts(self, d: int, p: dict[str, np.ndarray]) -> None:
        order = np.lexsort((p["contact"], p["first_entry"]))
        p = {k: v[order] for k, v in p.items() if k != "_by_caller"}
        withheld = is_withheld(p["caller"])
        nxt = self._next_contact(d, p)
        repeat = (nxt >= 0) & (nxt <= p["first_entry"] + WEEK_S) & ~withheld
        handled = p["agent_legs"] > 0
        table = pa.table(
            {
                "contact_id": contact_ids(p["contact"]),
                "first_queue_code": strings(self.qcodes, p["first_q"]),
                "first_entry_ts": pa.array(p["first_entry"].astype("datetime64[s]").astype("datetime64[us]")),
                "last_end_ts": pa.array(p["last_end"].astype("datetime64[s]").astype("datetime64[us]")),
                "segments": pa.array(p["segments"]),
                "agent_legs": pa.array(p["agent_legs"]),
                "handled": pa.array(handled),
                "truly_resolved": pa.array(p["resolved"]),
                "complaint": pa.array(p["complaint"]),
                "transferred": pa.array(p["segments"] > 1),
                "final_outcome": strings(OUTCOMES, p["final_outcome"]),
                "total_wait_s": pa.array(p["total_wait"]),
                "kind": strings(KINDS, p["kind"]),
                "asterisk_uniqueid": asterisk_uniqueids(p["uid_epoch"], p["contact"]),
                "next_contact_ts": pa.array(
                    nxt.astype("datetime64[s]").astype("datetime64[us]"), mask=(nxt < 0) | withheld
                ),
                "connect_contact_id": connect_contact_ids(p["contact"])
                if self.with_connect_ids
                else pa.nulls(len(withheld), pa.string()),
                "caller_withheld": pa.array(withheld),
                "repeat_within_7d": pa.array(repeat),
                "fcr_window_closed": pa.array(p["first_entry"] + WEEK_S <= self.max_entry),
            },
            schema=_CONTACTS_SCHEMA,
        )
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.contacts_path, _CONTACTS_SCHEMA, use_dictionary=LOW_CARDINALITY
            )
        self.writer.write_table(table)
        self.contacts += table.num_rows

    def _next_contact(self, d: int, p: dict[str, np.ndarray]) -> np.ndarray:
        """First entry of the same caller's next contact (ordered by first entry, contact) within the look-ahead.

        ``p`` is in (first entry, contact) order, so a stable sort by caller keeps that order per caller.
        """
        nxt = np.full(len(p["caller"]), -1, dtype=np.int64)
        order = np.argsort(p["caller"], kind="stable")
        caller_s, entry_s = p["caller"][order], p["first_entry"][order]
        same = caller_s[1:] == caller_s[:-1]
        nxt[order[:-1][same]] = entry_s[1:][same]
        for later in range(d + 1, d + LOOKAHEAD_DAYS + 1):
            if later not in self.pending:
                continue
            todo = np.flatnonzero(nxt < 0)
            if not len(todo):
                break
            cs, es = self._by_caller(later)
            pos = np.searchsorted(cs, p["caller"][todo])
            ok = pos < len(cs)
            hit = np.zeros(len(todo), bool)
            hit[ok] = cs[pos[ok]] == p["caller"][todo][ok]
            nxt[todo[hit]] = es[pos[hit]]
        return nxt

    def _by_caller(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """A pending day's (caller, earliest first entry) pairs sorted by caller (cached until the day is written)."""
        part = self.pending[d]
        if "_by_caller" not in part or part["_by_caller"][0] != len(part["caller"]):
            o = np.lexsort((part["first_entry"], part["caller"]))
            part["_by_caller"] = (len(part["caller"]), part["caller"][o], part["first_entry"][o])
        return part["_by_caller"][1], part["_by_caller"][2]


_CONTACTS_SCHEMA = pa.schema(
    [
        ("contact_id", pa.string()), ("first_queue_code", pa.string()), ("first_entry_ts", pa.timestamp("us")),
        ("last_end_ts", pa.timestamp("us")), ("segments", pa.int64()), ("agent_legs", pa.int64()),
        ("handled", pa.bool_()), ("truly_resolved", pa.bool_()), ("complaint", pa.bool_()),
        ("transferred", pa.bool_()), ("final_outcome", pa.string()), ("total_wait_s", pa.float64()),
        ("kind", pa.string()), ("asterisk_uniqueid", pa.string()), ("next_contact_ts", pa.timestamp("us")),
        ("connect_contact_id", pa.string()), ("caller_withheld", pa.bool_()), ("repeat_within_7d", pa.bool_()),
        ("fcr_window_closed", pa.bool_()),
    ]
)  # fmt: skip
_INTERVALS_SCHEMA = pa.schema(
    [("queue_code", pa.string()), ("report_date", pa.date32()), ("interval_start_local", pa.timestamp("us"))]
    + [(k, pa.int64()) for k in ("offered", "answered", "abandoned", "short_abandoned", "timeout", "exit_key",
                                 "overflow", "answered_within_t", "abandoned_within_t")]
    + [(k, pa.float64()) for k in ("answered_wait_s", "abandoned_wait_s", "talk_s", "hold_s", "acw_s")]
)  # fmt: skip
