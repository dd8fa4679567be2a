"""Asterisk queue_log: `epoch|callid|queuename|agent|event|data1|data2|…` (docs.asterisk.org, Queue Logs).

Each line is an event. Events are kept in raw.asterisk_queue_log (natural key: the line itself,
HMAC'd so a caller id inside never shows), and contacts are *re-derived* from every stored event
of the calls and agents a new file touches. That is how a call split across two daily files
(ENTERQUEUE before midnight, COMPLETECALLER after) still assembles, in whatever order the files
arrive: until its closing event is loaded a queue stint is pending and produces no segment.

- A segment starts at ENTERQUEUE and ends at COMPLETECALLER/COMPLETEAGENT (answered), ABANDON,
  EXITWITHTIMEOUT (timeout), EXITWITHKEY (exit_key), EXITEMPTY (overflow) or a transfer
  (BLINDTRANSFER/TRANSFER = blind, ATTENDEDTRANSFER = attended → transferred_out).
- Asterisk's "holdtime" is the queue WAIT (→ wait_s), not customer hold. queue_log has no customer
  hold and no after-call work: hold_s and acw_s are null. calltime (→ talk_s) includes any hold.
- RINGNOANSWER carries milliseconds; it is validated and kept, and adds no segment.
- Agent states: AGENTLOGIN/AGENTLOGOFF and ADDMEMBER/REMOVEMEMBER make the logged_in session;
  PAUSE/UNPAUSE (reason in data1) not_ready; CONNECT→end of call on_contact; the rest available.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby

from ingestion.errors import IngestError
from ingestion.loader import Counts, FileContext, insert_new, quarantine_rows, stage_rows
from ingestion.schema import RAW_TABLES
from ingestion.util import decode_strict, mask_numbers, source_setting, source_time_zone, to_utc_naive

SOURCE = "asterisk"
TERMINAL = {
    "COMPLETECALLER": "answered",
    "COMPLETEAGENT": "answered",
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout",
    "EXITWITHKEY": "exit_key",
    "EXITEMPTY": "overflow",
    "BLINDTRANSFER": "transferred_out",
    "TRANSFER": "transferred_out",
    "ATTENDEDTRANSFER": "transferred_out",
}
CALL_EVENTS = {"ENTERQUEUE", "CONNECT", "RINGNOANSWER", "RINGCANCELED", *TERMINAL}
AGENT_EVENTS = {
    "AGENTLOGIN",
    "AGENTLOGOFF",
    "AGENTCALLBACKLOGIN",
    "AGENTCALLBACKLOGOFF",
    "ADDMEMBER",
    "REMOVEMEMBER",
    "PAUSE",
    "UNPAUSE",
    "PAUSEALL",
    "UNPAUSEALL",
}
# Written by real PBXs (Asterisk versions, FreePBX, QueueMetrics): kept, no contact or state from them.
INFORMATIONAL = {
    "QUEUESTART",
    "CONFIGRELOAD",
    "DID",
    "INFO",
    "SYSCOMPAT",
    "AGENTDUMP",
    "JOINEMPTY",
    "LEAVEEMPTY",
    "PENALTY",
    "CALLSTATUS",
    "ENTERQUEUE_AUX",
    "RINGING",
}
KNOWN = CALL_EVENTS | AGENT_EVENTS | INFORMATIONAL
NO_ID = {"", "NONE", "NULL"}
# Fewest fields a call event is written with by any Asterisk version (5 = no parameters): less is
# a damaged line, e.g. ENTERQUEUE has url|callerid since 1.2, COMPLETE* holdtime|calltime.
MIN_FIELDS = {
    "ENTERQUEUE": 7,
    "CONNECT": 6,
    "COMPLETECALLER": 7,
    "COMPLETEAGENT": 7,
    "ABANDON": 6,
    "EXITWITHTIMEOUT": 6,
    "EXITWITHKEY": 6,
    "EXITEMPTY": 6,
    "TRANSFER": 7,
    "BLINDTRANSFER": 9,
    "ATTENDEDTRANSFER": 9,
    "RINGNOANSWER": 6,
}

EVENT_COLUMNS = [
    ("event_key", "varchar"),
    ("event_ts", "timestamp"),
    ("callid", "varchar"),
    ("queue", "varchar"),
    ("agent", "varchar"),
    ("event", "varchar"),
    ("data1", "varchar"),
    ("data2", "varchar"),
    ("data3", "varchar"),
    ("data4", "varchar"),
    ("data5", "varchar"),
    ("data6", "varchar"),
    ("caller_key", "varchar"),
    ("source_line", "bigint"),
]


def member_id(agent: str, keep_as_written: bool = False) -> str:
    """The agent id of a queue member: `Agent/A0010`, `SIP/1001`, `PJSIP/1001`,
    `Local/1001@from-queue/n` → `A0010`, `1001`, … so it joins the roster's agent_id.
    sources.yaml `asterisk_queue_log: {agent_id: as_written}` keeps the name untouched."""
    if keep_as_written or "/" not in agent or agent.upper() in NO_ID:
        return agent
    rest = agent.split("/", 1)[1]
    return rest.split("@", 1)[0] or agent


def _durations(event: str, data: list[str]) -> dict[str, str]:
    """The numeric parameters of an event, by name (positions per Asterisk version)."""
    d = data + [""] * 6
    if event == "CONNECT":
        return {"holdtime": d[0], "ringtime": d[2]}
    if event in ("COMPLETECALLER", "COMPLETEAGENT"):
        return {"holdtime": d[0], "calltime": d[1]}
    if event in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"):
        return {"waittime": d[2]}
    if event == "EXITWITHKEY":
        return {"waittime": d[3]}
    if event in ("BLINDTRANSFER", "TRANSFER"):
        return {"holdtime": d[2], "calltime": d[3]}
    if (
        event == "ATTENDEDTRANSFER"
    ):  # BRIDGE|id|hold|call|pos, APP|app|hold|call|pos, LINK|ch1|ch2|hold|call|pos
        return (
            {"holdtime": d[3], "calltime": d[4]} if d[0] == "LINK" else {"holdtime": d[2], "calltime": d[3]}
        )
    if event in ("RINGNOANSWER", "RINGCANCELED"):
        return {"ringtime_ms": d[0]}
    return {}


def _number(v: str) -> float | None:
    try:
        return float(v)
    except ValueError:
        return None


def _timestamp(field: str, tz: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(field), UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        pass
    try:  # realtime (database) exports write a local datetime instead of the epoch
        return to_utc_naive(datetime.fromisoformat(field.strip()), tz)
    except ValueError:
        return None


def read(ctx: FileContext) -> Counts:
    data = ctx.path.read_bytes()
    text = decode_strict(data, ctx.source_file, "utf-8")
    lines = text.split("\n")
    ends_with_newline = text.endswith("\n")
    if ends_with_newline:
        lines.pop()
    tz = source_time_zone("asterisk_queue_log")
    as_written = source_setting("asterisk_queue_log", "agent_id") == "as_written"
    counts = Counts(source="asterisk_queue_log")
    rows, bad = [], []
    last = len(lines)
    for i, raw_line in enumerate(lines, start=1):
        line = raw_line.rstrip("\r")
        if not line.strip():
            continue  # blank lines are not records
        counts.rows_read += 1
        fields = line.split("|")
        problem = None
        ts = _timestamp(fields[0], tz) if fields else None
        event = fields[4].strip().upper() if len(fields) >= 5 else ""
        if len(fields) < 5:
            problem = f"malformed line: {len(fields)} fields, at least 5 expected"
        elif ts is None:
            problem = "bad timestamp"
        elif event not in KNOWN:
            problem = f"unknown event {event[:40]}"
        elif len(fields) < MIN_FIELDS.get(event, 5):
            problem = f"malformed line: {event} with {len(fields) - 5} of {MIN_FIELDS[event] - 5} parameters"
        else:
            for name, value in _durations(event, fields[5:]).items():
                if value.strip() == "":
                    continue
                n = _number(value)
                if n is None:
                    problem = f"bad number {name}"
                elif n < 0:
                    problem = f"negative duration {name}"
                if problem:
                    break
        if problem and i == last and not ends_with_newline:
            raise IngestError(ctx.source_file, f"file is truncated: last line is cut off ({problem})", i)
        data_fields = [f.strip() for f in fields[5:11]] + [""] * (6 - len(fields[5:11]))
        caller_key = None
        if not problem and event == "ENTERQUEUE":
            caller_key, caller_problem = ctx.pseudonymiser.key_of(data_fields[1] or None)
            data_fields[1] = ""  # the number itself is never stored
            problem = caller_problem
        if problem:
            bad.append((i, problem, "|".join(fields[:5]) + "|" + mask_numbers("|".join(fields[5:]))))
            continue
        event_key = hmac.new(ctx.hmac_key, line.strip().encode(), hashlib.sha256).hexdigest()[:32]
        callid, queue, agent = (f.strip() for f in fields[1:4])
        agent = member_id(agent, as_written)
        rows.append((event_key, ts, callid, queue, agent, event, *data_fields, caller_key, i))
    counts.rows_quarantined = quarantine_rows(ctx, "asterisk_queue_log", bad)
    stage_rows(ctx.con, "_qlog", EVENT_COLUMNS, rows)
    ctx.con.execute("alter table _qlog add column reject_reason varchar")
    cols = [c for c, _ in EVENT_COLUMNS if c != "source_line"]
    loaded, duplicate = insert_new(
        ctx, "asterisk_queue_log", "_qlog", key=["event_key"], target="raw.asterisk_queue_log", columns=cols
    )
    counts.rows_loaded, counts.rows_duplicate = loaded, duplicate
    # The calls and agents whose events just arrived: re-derive them from everything stored.
    ctx.con.execute(
        """create or replace temp table _aff_calls as
           select distinct callid from raw.asterisk_queue_log
           where source_file = ? and loaded_at = ? and upper(callid) not in ('', 'NONE', 'NULL')""",
        [ctx.source_file, ctx.loaded_at],
    )
    # Agents: re-derive from the start of the session in progress when this file's first event of
    # theirs happened (a session starts logged out, so the sweep can begin there), not from the
    # beginning of history.
    ctx.con.execute(
        """create or replace temp table _aff_agents as
           select n.agent,
                  (select max(s.start_ts) from raw.agent_states s
                   where s.source_system = 'asterisk' and s.agent_id = n.agent and s.state = 'logged_in'
                     and s.start_ts <= n.first_ts) as since
           from (select agent, min(event_ts) as first_ts from raw.asterisk_queue_log
                 where source_file = ? and loaded_at = ? and upper(agent) not in ('', 'NONE', 'NULL')
                 group by agent) n""",
        [ctx.source_file, ctx.loaded_at],
    )
    segments = rederive_segments(ctx)
    states = rederive_agent_states(ctx)
    counts.add_table("contact_segments", segments)
    counts.add_table("agent_states", states)
    counts.notes.append(f"{segments} segments and {states} agent states derived")
    for t in ("_qlog", "_aff_calls", "_aff_agents"):
        ctx.con.execute(f"drop table if exists {t}")
    return counts


@dataclass
class _Segment:
    queue: str
    entry: datetime
    caller_key: str | None
    source_file: str
    source_line: int
    answer: datetime | None = None
    end: datetime | None = None
    agent: str | None = None
    wait: float | None = None
    talk: float | None = None
    outcome: str | None = None
    transfer_type: str | None = None
    transfer_to: str | None = None


# the raw contract's columns plus the line the segment was built from
SEGMENT_STAGE = [*RAW_TABLES["contact_segments"], ("source_file", "varchar"), ("source_line", "bigint")]


def _num(v: str | None) -> float | None:
    if v is None or v.strip() == "":
        return None
    return float(v)


def _segments_of_call(events: list[tuple]) -> list[_Segment]:
    segments: list[_Segment] = []
    cur: _Segment | None = None
    for _callid, ts, queue, agent, event, d1, d2, d3, d4, d5, _d6, caller_key, sfile, sline in events:
        if event == "ENTERQUEUE":
            cur = _Segment(queue, ts, caller_key, sfile, sline)
            segments.append(cur)
            continue
        if cur is None or cur.outcome is not None:
            continue  # events outside a queue stint (before ENTERQUEUE, after it closed)
        dur = _durations(event, [d1, d2, d3, d4, d5])
        if event == "CONNECT":
            cur.answer, cur.agent = ts, agent
            cur.wait = _num(dur.get("holdtime"))
        elif event in TERMINAL:
            cur.outcome, cur.end = TERMINAL[event], ts
            if cur.outcome in ("answered", "transferred_out"):
                cur.agent = cur.agent or agent
                cur.wait = _num(dur.get("holdtime")) if dur.get("holdtime") else cur.wait
                cur.talk = _num(dur.get("calltime"))
                if cur.answer is None and cur.talk is not None:
                    cur.answer = ts - timedelta(seconds=cur.talk)
            else:
                wait = _num(dur.get("waittime"))
                cur.wait = wait if wait is not None else (ts - cur.entry).total_seconds()
            if event in ("BLINDTRANSFER", "TRANSFER"):
                cur.transfer_type, cur.transfer_to = "blind", d1 or None
            elif event == "ATTENDEDTRANSFER":
                cur.transfer_type = "attended"
    for seg, nxt in zip(segments, segments[1:], strict=False):
        if seg.outcome == "transferred_out":
            seg.transfer_to = nxt.queue  # the queue the caller went to beats the dialled extension
    return segments


def rederive_segments(ctx: FileContext) -> int:
    """Rebuild raw.contact_segments (asterisk) for the calls in temp table _aff_calls."""
    con = ctx.con
    events = con.execute(
        """select e.callid, e.event_ts, e.queue, e.agent, e.event, e.data1, e.data2, e.data3, e.data4,
                  e.data5, e.data6, e.caller_key, e.source_file, e.source_line
           from raw.asterisk_queue_log e join _aff_calls a using (callid)
           where e.event in ('ENTERQUEUE', 'CONNECT', 'COMPLETECALLER', 'COMPLETEAGENT', 'ABANDON',
                             'EXITWITHTIMEOUT', 'EXITWITHKEY', 'EXITEMPTY', 'BLINDTRANSFER', 'TRANSFER',
                             'ATTENDEDTRANSFER')
           order by e.callid, e.event_ts, e.source_file, e.source_line"""
    ).fetchall()
    cdr_callers = dict(
        con.execute(
            """select uniqueid, min(caller_key) from raw.asterisk_cdr
               where uniqueid in (select callid from _aff_calls) and caller_key is not null
               group by uniqueid"""
        ).fetchall()
    )
    rows = []
    for callid, group in groupby(events, key=lambda e: e[0]):
        segments = _segments_of_call(list(group))
        for seq, s in enumerate(segments, start=1):
            if s.outcome is None:
                continue  # still in progress as far as the loaded files know
            rows.append(
                (
                    SOURCE,
                    callid,
                    seq,
                    "voice",
                    "inbound" if seq == 1 else "transfer",
                    s.queue,
                    s.caller_key or cdr_callers.get(callid),
                    s.entry,
                    s.answer,
                    s.end,
                    s.agent,
                    s.wait,
                    s.talk,
                    None,
                    None,
                    s.outcome,
                    s.transfer_type,
                    s.transfer_to,
                    None,
                    None,
                    None,
                    s.source_file,
                    s.source_line,
                )  # fmt: skip
            )
    con.execute(
        """delete from raw.contact_segments
           where source_system = 'asterisk' and contact_id in (select callid from _aff_calls)"""
    )
    stage_rows(con, "_qseg", SEGMENT_STAGE, rows)
    cols = ", ".join(c for c, _ in SEGMENT_STAGE)
    con.execute(
        f"insert into raw.contact_segments ({cols}, loaded_at) select *, ? from _qseg", [ctx.loaded_at]
    )
    con.execute("drop table _qseg")
    return len(rows)


STATE_STAGE = [
    ("source_system", "varchar"),
    ("agent_id", "varchar"),
    ("state", "varchar"),
    ("reason", "varchar"),
    ("start_ts", "timestamp"),
    ("end_ts", "timestamp"),
    ("source_file", "varchar"),
    ("source_line", "bigint"),
]


def _states_of_agent(agent: str, events: list[tuple]) -> list[tuple]:
    """Sweep one agent's events in time order: a logged_in session and a partition of it."""
    out: list[tuple] = []
    queues: set[str] = set()
    logged_in_agent = False  # AGENTLOGIN without queue membership events
    session: list | None = None  # [start, file, line]
    current: list | None = None  # [state, reason, start, file, line]
    paused_reason: str | None = None
    paused = False
    in_calls: set[str] = set()

    def close_current(ts: datetime) -> None:
        nonlocal current
        if current is not None and ts > current[2]:
            out.append((SOURCE, agent, current[0], current[1], current[2], ts, current[3], current[4]))
        current = None

    for _agent, ts, callid, queue, event, d1, sfile, sline in events:
        if event in ("AGENTLOGIN", "AGENTCALLBACKLOGIN"):
            logged_in_agent = True
        elif event in ("AGENTLOGOFF", "AGENTCALLBACKLOGOFF"):
            logged_in_agent, queues = False, set()
        elif event == "ADDMEMBER":
            queues.add(queue)
        elif event == "REMOVEMEMBER":
            queues.discard(queue)
        elif event in ("PAUSE", "PAUSEALL"):
            paused, paused_reason = True, (d1 or None)
        elif event in ("UNPAUSE", "UNPAUSEALL"):
            paused, paused_reason = False, None
        elif event == "CONNECT":
            in_calls.add(callid)
        elif event in TERMINAL:
            in_calls.discard(callid)
        logged_in = logged_in_agent or bool(queues)
        if logged_in and session is None:
            session = [ts, sfile, sline]
        elif not logged_in and session is not None:
            if ts > session[0]:
                out.append((SOURCE, agent, "logged_in", None, session[0], ts, session[1], session[2]))
            session = None
            paused, paused_reason = False, None
        if in_calls:
            state, reason = "on_contact", None
        elif not logged_in:
            state, reason = None, None
        elif paused:
            state, reason = "not_ready", paused_reason
        else:
            state, reason = "available", None
        if current is None or (current[0], current[1]) != (state, reason):
            close_current(ts)
            if state is not None:
                current = [state, reason, ts, sfile, sline]
    if current is not None:
        out.append((SOURCE, agent, current[0], current[1], current[2], None, current[3], current[4]))
    if session is not None:
        out.append((SOURCE, agent, "logged_in", None, session[0], None, session[1], session[2]))
    return out


def rederive_agent_states(ctx: FileContext) -> int:
    """Rebuild raw.agent_states (asterisk) for the agents in temp table _aff_agents(agent, since),
    from `since` on (null = all history)."""
    con = ctx.con
    events = con.execute(
        """select e.agent, e.event_ts, e.callid, e.queue, e.event, e.data1, e.source_file, e.source_line
           from raw.asterisk_queue_log e join _aff_agents a using (agent)
           where (a.since is null or e.event_ts >= a.since)
             and e.event in ('AGENTLOGIN', 'AGENTLOGOFF', 'AGENTCALLBACKLOGIN', 'AGENTCALLBACKLOGOFF',
                             'ADDMEMBER', 'REMOVEMEMBER', 'PAUSE', 'UNPAUSE', 'PAUSEALL', 'UNPAUSEALL',
                             'CONNECT', 'COMPLETECALLER', 'COMPLETEAGENT', 'BLINDTRANSFER', 'TRANSFER',
                             'ATTENDEDTRANSFER')
           order by e.agent, e.event_ts, e.source_file, e.source_line"""
    ).fetchall()
    rows: list[tuple] = []
    for agent, group in groupby(events, key=lambda e: e[0]):
        rows.extend(_states_of_agent(agent, list(group)))
    # One state per (agent, state, start): same-second flips keep the first.
    seen, unique = set(), []
    for r in rows:
        k = (r[1], r[2], r[4])
        if k not in seen:
            seen.add(k)
            unique.append(r)
    con.execute(
        """delete from raw.agent_states s using _aff_agents a
           where s.source_system = 'asterisk' and s.agent_id = a.agent
             and (a.since is null or s.start_ts >= a.since)"""
    )
    stage_rows(con, "_qstate", STATE_STAGE, unique)
    cols = ", ".join(c for c, _ in STATE_STAGE)
    con.execute(f"insert into raw.agent_states ({cols}, loaded_at) select *, ? from _qstate", [ctx.loaded_at])
    con.execute("drop table _qstate")
    return len(unique)
