"""CSV text of the canonical feeds, written byte by byte by compiled code (numba).

The output is exactly what ``pyarrow.csv.write_csv(..., quoting_style="needed")`` writes for the
same table (strings quoted, nulls empty, whole-number floats without a decimal point, booleans
``true``/``false``) — a test compares the two — at a fraction of the cost: no intermediate string
arrays, one pass per row. Text columns come from small lookup tables (codes, agent ids, labels)
that contain no quote or separator, which is checked when a table is built.
"""

from __future__ import annotations

import numpy as np
from numba import njit

CSV_SAFE_BANNED = (b'"', b",", b"\n", b"\r")


class Lookup:
    """Strings as one UTF-8 byte buffer plus offsets (what compiled code can index)."""

    def __init__(self, values):
        encoded = [v.encode("utf-8") for v in values]
        for v in encoded:
            if any(ch in v for ch in CSV_SAFE_BANNED):
                raise ValueError(f"lookup value needs CSV quoting rules: {v!r}")
        self.data = np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8).copy()
        self.offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        self.offsets[1:] = np.cumsum([len(v) for v in encoded])


@njit(cache=True, inline="always")
def _put_int(buf, pos, v):
    if v < 0:
        buf[pos] = 45  # '-'
        pos += 1
        v = -v
    if v == 0:
        buf[pos] = 48
        return pos + 1
    n = 0
    x = v
    while x > 0:
        n += 1
        x //= 10
    end = pos + n
    while v > 0:
        end -= 1
        buf[end] = 48 + v % 10
        v //= 10
    return pos + n


@njit(cache=True, inline="always")
def _put_pad(buf, pos, v, width):
    for k in range(width - 1, -1, -1):
        buf[pos + k] = 48 + v % 10
        v //= 10
    return pos + width


@njit(cache=True, inline="always")
def _put_lookup(buf, pos, data, offsets, i, quoted):
    if quoted:
        buf[pos] = 34
        pos += 1
    for k in range(offsets[i], offsets[i + 1]):
        buf[pos] = data[k]
        pos += 1
    if quoted:
        buf[pos] = 34
        pos += 1
    return pos


@njit(cache=True, inline="always")
def _put_iso(buf, pos, epoch):
    """'"YYYY-MM-DDTHH:MM:SSZ"' (quoted, UTC) from epoch seconds; civil-from-days (H. Hinnant)."""
    days = epoch // 86400
    sec = epoch - days * 86400
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    buf[pos] = 34
    pos = _put_pad(buf, pos + 1, y, 4)
    buf[pos] = 45
    pos = _put_pad(buf, pos + 1, m, 2)
    buf[pos] = 45
    pos = _put_pad(buf, pos + 1, d, 2)
    buf[pos] = 84  # 'T'
    pos = _put_pad(buf, pos + 1, sec // 3600, 2)
    buf[pos] = 58
    pos = _put_pad(buf, pos + 1, (sec // 60) % 60, 2)
    buf[pos] = 58
    pos = _put_pad(buf, pos + 1, sec % 60, 2)
    buf[pos] = 90  # 'Z'
    buf[pos + 1] = 34
    return pos + 2


@njit(cache=True, inline="always")
def _put_bool(buf, pos, b):
    if b:
        buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3] = 116, 114, 117, 101
        return pos + 4
    buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3], buf[pos + 4] = 102, 97, 108, 115, 101
    return pos + 5


@njit(cache=True)
def _segments_csv(
    header, contact, seq, q, phone_style, phone, t, answer, end, agent, wait, talk, hold, acw,
    outcome, xfer_type, xfer_to, disp, complaint, resolved,
    const_d, const_o, qcode_d, qcode_o, agent_d, agent_o, outcome_d, outcome_o, xtype_d, xtype_o, disp_d, disp_o,
):  # fmt: skip
    n = len(contact)
    buf = np.empty(len(header) + n * 400, dtype=np.uint8)
    pos = 0
    for k in range(len(header)):
        buf[pos] = header[k]
        pos += 1
    for i in range(n):
        pos = _put_lookup(buf, pos, const_d, const_o, 0, True)  # "canonical"
        buf[pos], buf[pos + 1], buf[pos + 2] = 44, 34, 67  # ,"C
        pos = _put_pad(buf, pos + 3, contact[i], 10)
        buf[pos], buf[pos + 1] = 34, 44
        pos = _put_int(buf, pos + 2, seq[i])
        buf[pos] = 44
        pos = _put_lookup(buf, pos + 1, const_d, const_o, 1, True)  # "voice"
        buf[pos] = 44
        pos = _put_lookup(buf, pos + 1, const_d, const_o, 3 if seq[i] > 1 else 2, True)  # direction
        buf[pos] = 44
        pos = _put_lookup(buf, pos + 1, qcode_d, qcode_o, q[i], True)
        buf[pos], buf[pos + 1] = 44, 34
        pos += 2
        s = phone_style[i]  # 0 withheld (empty string), 1 national, 2 '00' + E.164, 3 '+' + E.164
        if s == 2:
            buf[pos], buf[pos + 1] = 48, 48
            pos += 2
        elif s == 3:
            buf[pos] = 43
            pos += 1
        if s != 0:
            pos = _put_int(buf, pos, phone[i])
        buf[pos], buf[pos + 1] = 34, 44
        pos = _put_iso(buf, pos + 2, t[i])
        buf[pos] = 44
        pos += 1
        answered = agent[i] >= 0
        if answered:
            pos = _put_iso(buf, pos, answer[i])
        buf[pos] = 44
        pos = _put_iso(buf, pos + 1, end[i])
        buf[pos] = 44
        pos += 1
        if answered:
            pos = _put_lookup(buf, pos, agent_d, agent_o, agent[i], True)
        buf[pos] = 44
        pos = _put_int(buf, pos + 1, wait[i])
        buf[pos] = 44
        pos += 1
        if answered:
            pos = _put_int(buf, pos, talk[i])
        buf[pos] = 44
        pos += 1
        if answered:
            pos = _put_int(buf, pos, hold[i])
        buf[pos] = 44
        pos += 1
        if answered:
            pos = _put_int(buf, pos, acw[i])
        buf[pos] = 44
        pos = _put_lookup(buf, pos + 1, outcome_d, outcome_o, outcome[i], True)
        buf[pos] = 44
        pos += 1
        if xfer_type[i] >= 0:
            pos = _put_lookup(buf, pos, xtype_d, xtype_o, xfer_type[i], True)
        buf[pos] = 44
        pos += 1
        if xfer_to[i] >= 0:
            pos = _put_lookup(buf, pos, qcode_d, qcode_o, xfer_to[i], True)
        buf[pos] = 44
        pos += 1
        if disp[i] >= 0:
            pos = _put_lookup(buf, pos, disp_d, disp_o, disp[i], True)
        buf[pos] = 44
        pos = _put_bool(buf, pos + 1, complaint[i])
        buf[pos] = 44
        pos += 1
        if answered:
            pos = _put_bool(buf, pos, resolved[i])
        buf[pos] = 10
        pos += 1
    return buf[:pos]


@njit(cache=True)
def _states_csv(
    header, agent, state, reason, start, end, skew, const_d, const_o, agent_d, agent_o, st_d, st_o, rs_d, rs_o
):
    n = len(agent)
    buf = np.empty(len(header) + n * 140, dtype=np.uint8)
    pos = 0
    for k in range(len(header)):
        buf[pos] = header[k]
        pos += 1
    for i in range(n):
        pos = _put_lookup(buf, pos, const_d, const_o, 0, True)
        buf[pos] = 44
        pos = _put_lookup(buf, pos + 1, agent_d, agent_o, agent[i], True)
        buf[pos] = 44
        pos = _put_lookup(buf, pos + 1, st_d, st_o, state[i], True)
        buf[pos] = 44
        pos += 1
        if reason[i] >= 0:
            pos = _put_lookup(buf, pos, rs_d, rs_o, reason[i], True)
        buf[pos] = 44
        pos = _put_iso(buf, pos + 1, start[i] + skew)
        buf[pos] = 44
        pos = _put_iso(buf, pos + 1, end[i] + skew)
        buf[pos] = 10
        pos += 1
    return buf[:pos]


def _header(columns) -> np.ndarray:
    return np.frombuffer((",".join(f'"{c}"' for c in columns) + "\n").encode(), dtype=np.uint8)


def segments_csv(columns, cols: dict[str, np.ndarray], lookups: dict[str, Lookup]) -> np.ndarray:
    L = lookups
    out = _segments_csv(
        _header(columns), *(np.ascontiguousarray(cols[k]) for k in (
            "contact", "seq", "q", "phone_style", "phone", "t", "answer", "end", "agent", "wait", "talk", "hold",
            "acw", "outcome", "xfer_type", "xfer_to", "disp", "complaint", "resolved")),
        L["const"].data, L["const"].offsets, L["queue"].data, L["queue"].offsets, L["agent"].data, L["agent"].offsets,
        L["outcome"].data, L["outcome"].offsets, L["xfer_type"].data, L["xfer_type"].offsets,
        L["disp"].data, L["disp"].offsets,
    )  # fmt: skip
    return out  # the file's bytes (uint8); written without another copy


def states_csv(columns, cols: dict[str, np.ndarray], skew_s: int, lookups: dict[str, Lookup]) -> np.ndarray:
    L = lookups
    out = _states_csv(
        _header(columns), *(np.ascontiguousarray(cols[k]) for k in ("agent", "state", "reason", "start", "end")),
        skew_s, L["const"].data, L["const"].offsets, L["agent"].data, L["agent"].offsets,
        L["state"].data, L["state"].offsets, L["reason"].data, L["reason"].offsets,
    )  # fmt: skip
    return out  # the file's bytes (uint8); written without another copy
