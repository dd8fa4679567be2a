"""The same simulated calls, rendered as each telephony platform writes them.

* canonical: the raw.contact_segments contract (minus lineage) with the raw caller number;
* Asterisk: ``queue_log`` lines exactly as app_queue writes them, plus CDR ``Master.csv`` (cdr_csv
  with ``loguniqueid``/``loguserfield`` on: 18 columns, no header, PBX local time);
* Amazon Connect: contact trace records as Kinesis Firehose delivers them (one JSON object per
  line; transfers are new records chained by PreviousContactId / InitialContactId).

Rendering uses its own random stream, so the calls themselves never depend on the rendering.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulator import csvfast
from simulator.center import NR_REASONS, Center
from simulator.engine import ANSWERED, OUTCOMES, TRANSFERRED
from simulator.states import LOGGED_IN, NOT_READY, STATE_NAMES
from simulator.truth import strings

CANONICAL_COLUMNS = [
    "source_system", "contact_id", "segment_seq", "channel", "direction", "queue_code", "caller_number",
    "queue_entry_ts", "answer_ts", "end_ts", "agent_id", "wait_s", "talk_s", "hold_s", "acw_s", "outcome",
    "transfer_type", "transfer_to_queue", "disposition", "complaint", "resolved",
]  # fmt: skip
STATE_COLUMNS = ["source_system", "agent_id", "state", "reason", "start_ts", "end_ts"]
CN_PREFIXES = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 158, 159, 166, 177, 180, 182, 185, 186, 187, 188, 189, 199])  # fmt: skip
CONNECT_NS = uuid.UUID("6f1c2a7e-3b5d-4c8e-9a0f-1d2e3f405162")
CONNECT_INSTANCE = "arn:aws:connect:ap-east-1:111122223333:instance/6f1c2a7e-0000-4c8e-9a0f-000000000001"


def contact_ids(contact: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pc.cast(pa.array(contact), pa.string()), 10, "0"), ""
    )


def is_withheld(caller: np.ndarray) -> np.ndarray:
    return (caller * 2654435761 % 1000) < 30  # ~3% of callers withhold their number


def e164_numbers(caller: np.ndarray, site: np.ndarray) -> np.ndarray:
    """E.164 digits (no '+') of each caller: Chinese mobiles for Shanghai, UK mobiles for London."""
    sub = (caller * 7919 + 12345) % 10**8
    cn = 86 * 10**11 + CN_PREFIXES[caller % len(CN_PREFIXES)] * 10**8 + sub
    uk = 447 * 10**9 + (caller * 104729 + 99991) % 10**9
    return np.where(site == "lon", uk, cn)


def switch_callerids(caller: np.ndarray, site: np.ndarray) -> list[str]:
    """Caller ID as a PBX trunk presents it: national for Chinese mobiles, E.164 for foreign numbers."""
    digits = e164_numbers(caller, site).astype(str)
    withheld = is_withheld(caller)
    return [
        "" if w else (d[2:] if s != "lon" else "+" + d)
        for d, s, w in zip(digits.tolist(), site.tolist(), withheld.tolist(), strict=True)
    ]


def caller_numbers(caller: np.ndarray, site: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """Raw numbers as a switch logs them: E.164, national (Chinese mobiles), 00-prefixed; some withheld."""
    digits = pc.cast(pa.array(e164_numbers(caller, site)), pa.string())
    national = pc.utf8_slice_codeunits(digits, 2)
    style = rng.random(len(caller))
    cn = site != "lon"
    plus = pc.binary_join_element_wise("+", digits, "")
    zero = pc.binary_join_element_wise("00", digits, "")
    out = pc.if_else(pa.array(cn & (style < 0.25)), national, pc.if_else(pa.array(style > 0.92), zero, plus))
    return pc.if_else(pa.array(is_withheld(caller)), pa.scalar(""), out)


def iso_utc(epoch: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """ISO-8601 UTC text ('2026-03-02T01:02:03Z'); casting is ~50x faster than strftime."""
    ts = pa.array(epoch.astype("datetime64[s]"), mask=None if valid is None else ~valid)
    text = pc.utf8_replace_slice(pc.cast(ts, pa.string()), 10, 11, "T")
    return pc.binary_join_element_wise(text, pa.scalar("Z"), "")


def segments_table(center: Center, seg: dict[str, np.ndarray], rng: np.random.Generator) -> pa.Table:
    queues = center.queues
    qcodes = [q.code for q in queues]
    site = np.array([q.site for q in queues], dtype=object)[seg["q"]]
    answered = seg["agent"] >= 0
    xfer = seg["outcome"] == TRANSFERRED
    n = len(seg["q"])
    cols = {
        "source_system": strings(["canonical"], np.zeros(n, np.int64)),
        "contact_id": contact_ids(seg["contact"]),
        "segment_seq": pa.array(seg["seq"], pa.int32()),
        "channel": strings(["voice"], np.zeros(n, np.int64)),
        "direction": strings(["inbound", "transfer"], (seg["seq"] > 1).astype(np.int64)),
        "queue_code": strings(qcodes, seg["q"]),
        "caller_number": caller_numbers(seg["caller"], site, rng),
        "queue_entry_ts": iso_utc(seg["t"]),
        "answer_ts": iso_utc(seg["answer"], answered),
        "end_ts": iso_utc(seg["end"]),
        "agent_id": strings(center.agent_id, np.where(answered, seg["agent"], -1)),
        "wait_s": pa.array(seg["wait"].astype(float)),
        "talk_s": pa.array(seg["talk"].astype(float), mask=~answered),
        "hold_s": pa.array(seg["hold"].astype(float), mask=~answered),
        "acw_s": pa.array(seg["acw"].astype(float), mask=~answered),
        "outcome": strings(OUTCOMES, seg["outcome"]),
        "transfer_type": strings(
            ["blind", "attended"], np.where(xfer, seg["xfer_attended"].astype(np.int64), -1)
        ),
        "transfer_to_queue": strings(qcodes, np.where(xfer, seg["xfer_to"], -1)),
        "disposition": strings(
            [d for q in queues for d in q.behaviour.dispositions], _disposition_codes(queues, seg)
        ),
        "complaint": pa.array(seg["complaint"].astype(bool)),
        "resolved": pa.array(seg["resolved"].astype(bool), mask=~answered),
    }
    return pa.table(cols)


def _disposition_codes(queues, seg) -> np.ndarray:
    """Index into all queues' dispositions laid end to end (-1 = none: not answered)."""
    width = max(len(q.behaviour.dispositions) for q in queues)
    table = np.full((len(queues), width), -1, dtype=np.int64)
    k = 0
    for i, q in enumerate(queues):
        n = len(q.behaviour.dispositions)
        table[i, :n] = np.arange(k, k + n)
        k += n
    out = table[seg["q"], np.minimum(seg["disp"], width - 1)]
    out[seg["agent"] < 0] = -1
    return out


def write_table(table: pa.Table, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if path.suffix == ".parquet":
        pq.write_table(table, tmp, compression="zstd")
    else:
        pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="needed"))
    tmp.replace(path)
    return table.num_rows


def states_table(center: Center, rows: dict[str, np.ndarray], skew_s: int = 0) -> pa.Table:
    return pa.table(
        {
            "source_system": pa.array(["canonical"]).take(pa.array(np.zeros(len(rows["agent"]), np.int64))),
            "agent_id": strings(center.agent_id, rows["agent"]),
            "state": strings(STATE_NAMES, rows["state"]),
            "reason": strings(NR_REASONS, rows["reason"]),
            "start_ts": iso_utc(rows["start"] + skew_s),
            "end_ts": iso_utc(rows["end"] + skew_s),
        }
    )


def _lookups(center: Center) -> dict[str, csvfast.Lookup]:
    cached = getattr(center, "_csv_lookups", None)
    if cached is None:
        cached = {
            "const": csvfast.Lookup(["canonical", "voice", "inbound", "transfer"]),
            "queue": csvfast.Lookup([q.code for q in center.queues]),
            "agent": csvfast.Lookup(center.agent_id),
            "outcome": csvfast.Lookup(OUTCOMES),
            "xfer_type": csvfast.Lookup(["blind", "attended"]),
            "disp": csvfast.Lookup([d for q in center.queues for d in q.behaviour.dispositions]),
            "state": csvfast.Lookup(STATE_NAMES),
            "reason": csvfast.Lookup(NR_REASONS),
        }
        center._csv_lookups = cached
    return cached


def write_segments(center: Center, seg: dict[str, np.ndarray], rng: np.random.Generator, path: Path) -> int:
    """The canonical contact segments file: CSV rendered by compiled code, Parquet via Arrow."""
    if path.suffix == ".parquet":
        return write_table(segments_table(center, seg, rng), path)
    queues = center.queues
    lon = np.array([q.site == "lon" for q in queues])[seg["q"]]
    e164 = e164_numbers(seg["caller"], np.where(lon, "lon", ""))
    style = rng.random(len(seg["caller"]))  # the same draw caller_numbers() makes
    cn = ~lon
    national = cn & (style < 0.25)
    phone_style = np.where(national, 1, np.where(style > 0.92, 2, 3))
    phone_style[is_withheld(seg["caller"])] = 0
    phone = np.where(national, e164 - 86 * 10**11, e164)
    xfer = seg["outcome"] == TRANSFERRED
    cols = {
        **{
            k: seg[k]
            for k in ("contact", "seq", "q", "t", "answer", "end", "agent", "wait", "talk", "hold", "acw")
        },
        "outcome": seg["outcome"],
        "phone_style": phone_style,
        "phone": phone,
        "xfer_type": np.where(xfer, seg["xfer_attended"].astype(np.int64), -1),
        "xfer_to": np.where(xfer, seg["xfer_to"], -1),
        "disp": _disposition_codes(queues, seg),
        "complaint": seg["complaint"].astype(bool),
        "resolved": seg["resolved"].astype(bool),
    }
    return _write_bytes(csvfast.segments_csv(CANONICAL_COLUMNS, cols, _lookups(center)), path, len(seg["t"]))


def write_states(center: Center, rows: dict[str, np.ndarray], path: Path, skew_s: int = 0) -> int:
    if path.suffix == ".parquet":
        return write_table(states_table(center, rows, skew_s), path)
    text = csvfast.states_csv(STATE_COLUMNS, rows, skew_s, _lookups(center))
    return _write_bytes(text, path, len(rows["agent"]))


def _write_bytes(data: np.ndarray, path: Path, rows: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as f:
        f.write(memoryview(data))
    tmp.replace(path)
    return rows


# ---------------------------------------------------------------- Asterisk


def asterisk_uniqueids(seg: dict[str, np.ndarray], first_entry: np.ndarray) -> pa.Array:
    """Asterisk's channel uniqueid: '<epoch of channel creation>.<sequence>', one per contact."""
    return pc.binary_join_element_wise(
        pc.cast(pa.array(first_entry), pa.string()), pc.cast(pa.array(seg["contact"]), pa.string()), "."
    )


def queue_positions(seg: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Position on entry (origposition) and at exit, from who was still waiting in the same queue."""
    orig = np.ones(len(seg["t"]), dtype=np.int64)
    pos = np.ones(len(seg["t"]), dtype=np.int64)
    leave = np.where(seg["agent"] >= 0, seg["answer"] - seg["ring"], seg["end"])
    for qi in np.unique(seg["q"]):
        m = np.flatnonzero(seg["q"] == qi)
        entries = np.sort(seg["t"][m])
        leaves = np.sort(leave[m])
        ahead = np.searchsorted(entries, seg["t"][m], side="left") - np.searchsorted(
            leaves, seg["t"][m], side="right"
        )
        orig[m] = np.maximum(ahead, 0) + 1
        left_since = np.searchsorted(leaves, seg["end"][m], side="left") - np.searchsorted(
            leaves, seg["t"][m], side="right"
        )
        pos[m] = np.clip(orig[m] - left_since, 1, orig[m])
    return orig, pos


def _lines(epoch, uid, queue, agent, event, *data) -> tuple[pa.Array, np.ndarray]:
    parts = [pc.cast(pa.array(epoch), pa.string()), uid, queue, agent, event]
    parts += [d if isinstance(d, pa.Array | pa.ChunkedArray) else pa.array(d).cast(pa.string()) for d in data]
    return pc.binary_join_element_wise(*parts, "|"), np.asarray(epoch)


def queue_log_lines(
    center: Center, seg: dict[str, np.ndarray], first_entry: np.ndarray, rng: np.random.Generator
):
    """(epoch, order, line) of every call event in the chunk."""
    queues = center.queues
    qname = pa.array(np.array([q.code for q in queues], dtype=object)[seg["q"]], pa.string())
    uid = asterisk_uniqueids(seg, first_entry)
    members = np.array([f"Agent/{a}" for a in center.agent_id] + ["NONE"], dtype=object)
    agent = pa.array(members[np.where(seg["agent"] >= 0, seg["agent"], -1)], pa.string())
    none = pa.array(np.full(len(seg["t"]), "NONE", dtype=object), pa.string())
    cid = switch_callerids(seg["caller"], np.array([q.site for q in queues], dtype=object)[seg["q"]])
    callerid = pa.array([c or "anonymous" for c in cid], pa.string())
    orig, pos = queue_positions(seg)
    empty = pa.array(np.full(len(seg["t"]), "", dtype=object), pa.string())
    out = []

    def add(mask, epoch, agent_col, event, *data, order=0):
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        sel = pa.array(idx)
        cols = [c.take(sel) if isinstance(c, pa.Array) else np.asarray(c)[idx] for c in data]
        line, ep = _lines(
            np.asarray(epoch)[idx],
            uid.take(sel),
            qname.take(sel),
            agent_col.take(sel),
            pa.array([event] * len(idx)),
            *cols,
        )
        out.append((ep, np.full(len(idx), order), seg["contact"][idx], line))

    everything = np.ones(len(seg["t"]), bool)
    add(everything, seg["t"], none, "ENTERQUEUE", empty, callerid, orig, order=0)
    answered = seg["agent"] >= 0
    # a member that rang out first: RINGNOANSWER carries the ring time in milliseconds
    rna = answered & (rng.random(len(seg["t"])) < 0.06) & (seg["answer"] - seg["t"] > 20)
    other = rng.integers(0, center.n, len(seg["t"]))
    rna_agent = pa.array(members[other], pa.string())
    rna_ms = np.full(len(seg["t"]), 15000)
    add(rna, seg["answer"] - seg["ring"] - 1, rna_agent, "RINGNOANSWER", rna_ms, order=1)
    bridged = pc.binary_join_element_wise(
        pc.cast(pa.array(seg["answer"]), pa.string()),
        pc.cast(pa.array(seg["agent"] + 1000), pa.string()),
        ".",
    )
    wait = seg["wait"]
    add(answered, seg["answer"], agent, "CONNECT", wait, bridged, seg["ring"], order=2)
    calltime = seg["talk"] + seg["hold"]
    done = seg["outcome"] == ANSWERED
    by_agent = rng.random(len(seg["t"])) < 0.35
    add(done & ~by_agent, seg["end"], agent, "COMPLETECALLER", wait, calltime, orig, order=3)
    add(done & by_agent, seg["end"], agent, "COMPLETEAGENT", wait, calltime, orig, order=3)
    xfer = seg["outcome"] == TRANSFERRED
    ext = np.array([q.behaviour.extension for q in queues] + [""], dtype=object)[
        np.where(xfer, seg["xfer_to"], -1)
    ]
    add(
        xfer & ~seg["xfer_attended"],
        seg["end"],
        agent,
        "BLINDTRANSFER",
        ext,
        np.full(len(wait), "from-internal-xfer"),
        wait,
        calltime,
        orig,
        order=3,
    )
    bridge = np.array(
        [str(uuid.uuid5(CONNECT_NS, f"bridge/{c}")) for c in seg["contact"][xfer & seg["xfer_attended"]]],
        dtype=object,
    )
    bridge_full = np.full(len(wait), "", dtype=object)
    bridge_full[xfer & seg["xfer_attended"]] = bridge
    add(
        xfer & seg["xfer_attended"],
        seg["end"],
        agent,
        "ATTENDEDTRANSFER",
        np.full(len(wait), "BRIDGE"),
        bridge_full,
        wait,
        calltime,
        orig,
        order=3,
    )
    o = seg["outcome"]
    add(o == 1, seg["end"], none, "ABANDON", pos, orig, wait, order=3)
    add(o == 2, seg["end"], none, "EXITWITHTIMEOUT", pos, orig, wait, order=3)
    add(o == 3, seg["end"], none, "EXITWITHKEY", np.full(len(wait), "0"), pos, orig, wait, order=3)
    add(o == 4, seg["end"], none, "EXITEMPTY", pos, orig, wait, order=3)
    return out


def agent_queue_log_lines(center: Center, rows: dict[str, np.ndarray]):
    """AGENTLOGIN/ADDMEMBER ... PAUSE/UNPAUSE ... REMOVEMEMBER/AGENTLOGOFF for emitted sessions."""
    out = []
    qcodes = [q.code for q in center.queues]
    li = rows["state"] == LOGGED_IN
    nr = rows["state"] == NOT_READY
    ag = rows["agent"]
    member = np.array([f"Agent/{a}" for a in center.agent_id], dtype=object)
    channel = np.array([f"PJSIP/{a}" for a in center.agent_id], dtype=object)

    def emit(mask, epoch, queue_col, event, data, order):
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        parts = [pc.cast(pa.array(epoch[idx]), pa.string()), pa.array(["NONE"] * len(idx)), pa.array(queue_col[idx], pa.string()),
                 pa.array(member[ag[idx]], pa.string()), pa.array([event] * len(idx))]  # fmt: skip
        parts += [pa.array(d[idx]).cast(pa.string()) for d in data]
        out.append(
            (
                epoch[idx],
                np.full(len(idx), order),
                np.zeros(len(idx), dtype=np.int64),
                pc.binary_join_element_wise(*parts, "|"),
            )
        )

    none_q = np.full(len(ag), "NONE", dtype=object)
    emit(li, rows["start"], none_q, "AGENTLOGIN", [channel[ag]], -3)
    emit(li, rows["end"], none_q, "AGENTLOGOFF", [channel[ag], rows["end"] - rows["start"]], 9)
    max_skills = max(len(s) for s in center.skills)
    for k in range(max_skills):
        has = np.array([len(center.skills[a]) > k for a in ag]) if len(ag) else np.zeros(0, bool)
        qn = np.array(
            [qcodes[center.skills[a][k]] if len(center.skills[a]) > k else "" for a in ag], dtype=object
        )
        emit(li & has, rows["start"], qn, "ADDMEMBER", [np.full(len(ag), "")], -2)
        emit(li & has, rows["end"], qn, "REMOVEMEMBER", [np.full(len(ag), "")], 8)
        reason = np.array(list(NR_REASONS) + [""], dtype=object)[np.where(nr, rows["reason"], -1)]
        emit(nr & has, rows["start"], qn, "PAUSE", [reason], -1)
        emit(nr & has, rows["end"], qn, "UNPAUSE", [reason], 7)
    return out


def write_queue_log(path: Path, parts: list, with_queuestart: bool) -> int:
    if not parts:
        return 0
    epoch = np.concatenate([p[0] for p in parts])
    order_key = np.concatenate([p[1] for p in parts])
    contact = np.concatenate([p[2] for p in parts])
    lines = pa.chunked_array([p[3] for p in parts]).combine_chunks()
    order = np.lexsort((order_key, contact, epoch))
    text = lines.take(pa.array(order))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        if with_queuestart:  # the PBX started just before the first event of the extract
            f.write(f"{int(epoch.min()) - 60}|NONE|NONE|NONE|QUEUESTART|\n")
        f.write("\n".join(text.to_pylist()))
        f.write("\n")
    return len(text) + int(with_queuestart)


def _local(epoch: np.ndarray, tz: str, valid: np.ndarray | None = None) -> list[str]:
    zone = ZoneInfo(tz)
    out = []
    for i, e in enumerate(epoch.tolist()):
        if valid is not None and not valid[i]:
            out.append("")
        else:
            out.append(datetime.fromtimestamp(e, zone).strftime("%Y-%m-%d %H:%M:%S"))
    return out


def cdr_rows(center: Center, seg: dict[str, np.ndarray], first_entry: np.ndarray, pbx_tz: str) -> list[str]:
    """cdr_csv lines: accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata,
    start, answer, end, duration, billsec, disposition, amaflags, uniqueid, userfield."""
    queues = center.queues
    site = np.array([q.site for q in queues], dtype=object)[seg["q"]]
    cid = switch_callerids(seg["caller"], site)
    answered = seg["agent"] >= 0
    start = _local(seg["t"], pbx_tz)
    answer = _local(seg["answer"], pbx_tz, answered)
    end = _local(seg["end"], pbx_tz)
    uid = asterisk_uniqueids(seg, first_entry).to_pylist()
    lines = []
    for i in range(len(seg["t"])):
        src = cid[i]
        clid = f'"{src}" <{src}>' if src else '"anonymous" <anonymous>'
        q = queues[seg["q"][i]]
        agent = center.agent_id[seg["agent"][i]] if answered[i] else ""
        duration = int(seg["end"][i] - seg["t"][i])
        billsec = int(seg["end"][i] - seg["answer"][i]) if answered[i] else 0
        fields = [
            "", src, q.behaviour.extension, "from-pstn" if seg["seq"][i] == 1 else "from-internal-xfer", clid,
            f"PJSIP/trunk-{seg['contact'][i] % 0xFFFFFFFF:08x}", f"PJSIP/{agent}-{seg['contact'][i] % 0xFFFF:04x}" if agent else "",
            "Queue", f"{q.code},t,,,600", start[i], answer[i], end[i],
        ]  # fmt: skip
        quoted = ",".join('"' + f.replace('"', '""') + '"' for f in fields)
        disp = "ANSWERED" if answered[i] else "NO ANSWER"
        lines.append(f'{quoted},{duration},{billsec},"{disp}","DOCUMENTATION","{uid[i]}",""')
    return lines


# ---------------------------------------------------------------- Amazon Connect


def connect_contact_id(contact_id: str, seq: int) -> str:
    """A stable UUID-shaped ContactId (md5 of '<contact_id>/<seq>'; the truth computes the same in SQL)."""
    h = hashlib.md5(f"{contact_id}/{seq}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _iso(e: int) -> str:
    return datetime.fromtimestamp(int(e), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ctr_records(center: Center, seg: dict[str, np.ndarray], first_entry: np.ndarray) -> list[dict]:
    queues = center.queues
    site = np.array([q.site for q in queues], dtype=object)[seg["q"]]
    digits = e164_numbers(seg["caller"], site).astype(str)
    withheld = is_withheld(seg["caller"])
    ids = contact_ids(seg["contact"]).to_pylist()
    records = []
    for i in range(len(seg["t"])):
        c, s = ids[i], int(seg["seq"][i])
        q = queues[seg["q"][i]]
        cid = connect_contact_id(c, s)
        answered = seg["agent"][i] >= 0
        o = int(seg["outcome"][i])
        end = int(seg["end"][i])
        acw_end = end + int(seg["acw"][i]) if answered else end
        agent = None
        if answered:
            a = center.agent_id[seg["agent"][i]]
            agent = {
                "ARN": f"{CONNECT_INSTANCE}/agent/{uuid.uuid5(CONNECT_NS, a)}",
                "Username": a,
                "ConnectedToAgentTimestamp": _iso(seg["answer"][i]),
                "AgentInteractionDuration": int(seg["talk"][i]),
                "CustomerHoldDuration": int(seg["hold"][i]),
                "NumberOfHolds": int(seg["hold"][i] > 0),
                "LongestHoldDuration": int(seg["hold"][i]),
                "AfterContactWorkDuration": int(seg["acw"][i]),
                "AfterContactWorkStartTimestamp": _iso(end),
                "AfterContactWorkEndTimestamp": _iso(acw_end),
                "AgentConnectionAttempts": 1,
                "RoutingProfile": {"ARN": f"{CONNECT_INSTANCE}/routing-profile/{q.code}", "Name": q.code},
                "Hierarchy": None,
            }
        exit_reason = {1: "customer_abandon", 2: "timeout", 3: "exit_key", 4: "no_agents"}.get(o)
        records.append(
            {
                "AWSAccountId": "111122223333",
                "AWSContactTraceRecordFormatVersion": "2017-03-10",
                "Agent": agent,
                "AgentConnectionAttempts": 1 if answered else 0,
                "Attributes": {
                    "queue_code": q.code,
                    **({"disposition": q.behaviour.dispositions[int(seg["disp"][i])]} if answered else {}),
                    **({"complaint": "true"} if seg["complaint"][i] else {}),
                    **(
                        {"resolved": "true" if seg["resolved"][i] else "false"}
                        if answered and o == ANSWERED
                        else {}
                    ),
                    **({"queue_exit_reason": exit_reason} if exit_reason else {}),
                    **(
                        {"transfer_type": "attended" if seg["xfer_attended"][i] else "blind"}
                        if o == TRANSFERRED
                        else {}
                    ),
                },
                "Channel": "VOICE",
                "ContactId": cid,
                "InitialContactId": connect_contact_id(c, 1) if s > 1 else None,
                "PreviousContactId": connect_contact_id(c, s - 1) if s > 1 else None,
                "CustomerEndpoint": None
                if withheld[i]
                else {"Address": "+" + digits[i], "Type": "TELEPHONE_NUMBER"},
                "SystemEndpoint": {
                    "Address": "+8621" + q.behaviour.extension + "0000",
                    "Type": "TELEPHONE_NUMBER",
                },
                "InitiationMethod": "TRANSFER" if s > 1 else "INBOUND",
                "InitiationTimestamp": _iso(seg["t"][i] - (0 if s > 1 else 15)),
                "ConnectedToSystemTimestamp": _iso(seg["t"][i] - (0 if s > 1 else 15)),
                "DisconnectTimestamp": _iso(end),
                "DisconnectReason": (
                    "CUSTOMER_DISCONNECT"
                    if o in (0, 1)
                    else "CONTACT_FLOW_DISCONNECT"
                    if o in (2, 3, 4)
                    else "OTHER"
                ),
                "TransferCompletedTimestamp": _iso(end) if o == TRANSFERRED else None,
                "TransferredToEndpoint": None,
                "LastUpdateTimestamp": _iso(acw_end + 30),
                "InstanceARN": CONNECT_INSTANCE,
                "Queue": {
                    "ARN": f"{CONNECT_INSTANCE}/queue/{uuid.uuid5(CONNECT_NS, q.code)}",
                    "Name": q.code,
                    "EnqueueTimestamp": _iso(seg["t"][i]),
                    "DequeueTimestamp": _iso(seg["answer"][i] if answered else end),
                    "Duration": int(seg["wait"][i]),
                },
                "Recording": None,
                "Recordings": None,
                "MediaStreams": [],
                "References": [],
                "Campaign": {"CampaignId": None},
            }
        )
    return records


def write_jsonl(path: Path, records: list[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
    return len(records)
