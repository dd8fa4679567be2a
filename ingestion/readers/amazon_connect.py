"""Amazon Connect contact trace records (CTR), as Kinesis Firehose delivers them: one JSON object per
line, or objects concatenated with no separator (a JSON array is accepted too).

Fields (Connect admin guide, "Contact records data model"): ContactId, InitialContactId,
PreviousContactId, NextContactId, Channel, InitiationMethod, InitiationTimestamp,
DisconnectTimestamp, LastUpdateTimestamp, DisconnectReason, CustomerEndpoint{Address, Type},
Queue{Name, EnqueueTimestamp, Duration}, Agent{Username, ARN, ConnectedToAgentTimestamp,
AgentInteractionDuration, CustomerHoldDuration, AfterContactWorkDuration}, Attributes{}.

Delivery is at least once: a ContactId can arrive again with a newer LastUpdateTimestamp. The
latest version wins (kept in raw.amazon_connect_ctr); an older or equal re-delivery is a
duplicate. A transfer is a new record: contact_id = InitialContactId (else PreviousContactId,
else ContactId), segment_seq by queue entry time, re-derived for every contact a file touches.
wait = Queue.Duration, talk = AgentInteractionDuration, hold = CustomerHoldDuration,
acw = AfterContactWorkDuration. A leg was transferred out when it was answered and has a
NextContactId, a TransferCompletedTimestamp or a later leg of the same contact.

Connect itself does not record why an unanswered caller left the queue or whether a transfer
was blind or warm; contact flows commonly set contact attributes for that. These optional
attributes are read when present: `queue_exit_reason` (customer_abandon, timeout, exit_key,
no_agents), `transfer_type` (blind, attended), `disposition`, `complaint`, `resolved`. Without
`queue_exit_reason`, DisconnectReason decides (CONTACT_FLOW_DISCONNECT = timeout,
TELECOM_PROBLEM = error, otherwise abandoned).
"""

from __future__ import annotations

import json
from datetime import datetime

from ingestion.errors import IngestError
from ingestion.loader import Counts, FileContext, quarantine_rows, stage_rows
from ingestion.util import decode_strict, mask_numbers, parse_iso_utc

CHANNELS = {"VOICE": "voice", "CHAT": "chat", "EMAIL": "email"}
DIRECTIONS = {
    "INBOUND": "inbound",
    "OUTBOUND": "outbound",
    "EXTERNAL_OUTBOUND": "outbound",
    "API": "outbound",
    "TRANSFER": "transfer",
    "QUEUE_TRANSFER": "transfer",
    "CALLBACK": "callback",
}
NOT_CUSTOMER_CONTACTS = {"MONITOR", "DISCONNECT", "AGENT_REPLY", "FLOW"}
TRUE = {"true", "yes", "1", "y", "是"}
FALSE = {"false", "no", "0", "n", "否"}

CTR_COLUMNS = [
    ("ctr_contact_id", "varchar"),
    ("initial_contact_id", "varchar"),
    ("previous_contact_id", "varchar"),
    ("next_contact_id", "varchar"),
    ("channel", "varchar"),
    ("direction", "varchar"),
    ("queue_code", "varchar"),
    ("caller_key", "varchar"),
    ("initiation_ts", "timestamp"),
    ("enqueue_ts", "timestamp"),
    ("answer_ts", "timestamp"),
    ("disconnect_ts", "timestamp"),
    ("last_update_ts", "timestamp"),
    ("agent_id", "varchar"),
    ("wait_s", "double"),
    ("talk_s", "double"),
    ("hold_s", "double"),
    ("acw_s", "double"),
    ("disconnect_reason", "varchar"),
    ("disposition", "varchar"),
    ("complaint", "boolean"),
    ("resolved", "boolean"),
    ("transfer_completed_ts", "timestamp"),
    ("transfer_type", "varchar"),
    ("queue_exit_reason", "varchar"),
    ("source_line", "bigint"),
]
TRANSFER_TYPES = {"blind", "attended"}
# Optional contact attribute a contact flow can set when the caller leaves the queue unanswered.
QUEUE_EXIT_REASONS = {
    "customer_abandon": "abandoned",
    "abandon": "abandoned",
    "timeout": "timeout",
    "exit_key": "exit_key",
    "no_agents": "overflow",
    "overflow": "overflow",
    "error": "error",
}


class _Bad(Exception):
    pass


def _objects(text: str, file: str):
    """Yield (line number, object or None, problem or None) for JSON lines / concatenated objects."""
    decoder = json.JSONDecoder()
    pos, n = 0, len(text)
    line = 1
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise IngestError(file, f"not valid JSON ({e.msg}); file truncated?", e.lineno) from None
        for i, item in enumerate(items, start=1):
            yield i, item, None
        return
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            if text[pos] == "\n":
                line += 1
            pos += 1
        if pos >= n:
            return
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            nl = text.find("\n", pos)
            if nl == -1:  # nothing readable after it: the file was cut off mid-record
                raise IngestError(
                    file, f"file is truncated: last record is cut off ({e.msg})", line
                ) from None
            yield line, None, f"malformed JSON ({e.msg})"
            line += 1
            pos = nl + 1
            continue
        yield line, obj, None
        line += text.count("\n", pos, end)
        pos = end


def _ts(rec: dict, *path: str, required: bool = False) -> datetime | None:
    v = rec
    for p in path:
        v = v.get(p) if isinstance(v, dict) else None
    if v in (None, ""):
        if required:
            raise _Bad(f"missing {'.'.join(path)}")
        return None
    t = parse_iso_utc(str(v))
    if t is None:
        raise _Bad(f"bad timestamp {'.'.join(path)}")
    return t


def _dur(section: dict | None, name: str) -> float | None:
    if not isinstance(section, dict) or section.get(name) in (None, ""):
        return None
    try:
        v = float(section[name])
    except (TypeError, ValueError):
        raise _Bad(f"bad number {name}") from None
    if v < 0:
        raise _Bad(f"negative duration {name}")
    return v


def _flag(attrs: dict, name: str) -> bool | None:
    v = attrs.get(name)
    if v is None or str(v).strip() == "":
        return None
    s = str(v).strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise _Bad(f"bad boolean attribute {name}")


def _row(ctx: FileContext, rec: dict, line: int) -> tuple:
    if not isinstance(rec, dict):
        raise _Bad("record is not a JSON object")
    contact_id = rec.get("ContactId")
    if not contact_id:
        raise _Bad("missing ContactId")
    channel_raw = str(rec.get("Channel") or "").upper()
    if channel_raw not in CHANNELS:
        raise _Bad(f"unknown channel {channel_raw[:20]}")
    method = str(rec.get("InitiationMethod") or "").upper()
    if method in NOT_CUSTOMER_CONTACTS:
        raise _Bad(f"not a customer contact (InitiationMethod {method})")
    if method not in DIRECTIONS:
        raise _Bad(f"unknown InitiationMethod {method[:20]}")
    initiation = _ts(rec, "InitiationTimestamp", required=True)
    last_update = _ts(rec, "LastUpdateTimestamp", required=True)
    disconnect = _ts(rec, "DisconnectTimestamp")
    queue = rec.get("Queue") if isinstance(rec.get("Queue"), dict) else None
    agent = rec.get("Agent") if isinstance(rec.get("Agent"), dict) else None
    enqueue = _ts(rec, "Queue", "EnqueueTimestamp") if queue else None
    answer = _ts(rec, "Agent", "ConnectedToAgentTimestamp") if agent else None
    if disconnect is not None and disconnect < initiation:
        raise _Bad("DisconnectTimestamp before InitiationTimestamp")
    wait = _dur(queue, "Duration")
    talk, hold, acw = (
        _dur(agent, n)
        for n in ("AgentInteractionDuration", "CustomerHoldDuration", "AfterContactWorkDuration")
    )
    agent_id = None
    if agent:
        agent_id = agent.get("Username") or (str(agent.get("ARN") or "").rsplit("/", 1)[-1] or None)
    endpoint = rec.get("CustomerEndpoint") if isinstance(rec.get("CustomerEndpoint"), dict) else {}
    number = (
        endpoint.get("Address") if endpoint.get("Type", "TELEPHONE_NUMBER") == "TELEPHONE_NUMBER" else None
    )
    caller_key, problem = ctx.pseudonymiser.key_of(number)
    if problem:
        raise _Bad(problem)
    attrs = rec.get("Attributes") if isinstance(rec.get("Attributes"), dict) else {}
    initial = rec.get("InitialContactId") or rec.get("PreviousContactId") or contact_id
    transfer_type = str(attrs.get("transfer_type") or "").lower() or None
    if transfer_type is not None and transfer_type not in TRANSFER_TYPES:
        raise _Bad(f"unknown transfer_type attribute {transfer_type[:20]}")
    exit_reason = str(attrs.get("queue_exit_reason") or "").lower() or None
    if exit_reason is not None and exit_reason not in QUEUE_EXIT_REASONS:
        raise _Bad(f"unknown queue_exit_reason attribute {exit_reason[:30]}")
    return (
        contact_id, initial, rec.get("PreviousContactId"), rec.get("NextContactId"),
        CHANNELS[channel_raw], DIRECTIONS[method], (queue or {}).get("Name") or None, caller_key,
        initiation, enqueue, answer, disconnect, last_update, agent_id, wait, talk, hold, acw,
        rec.get("DisconnectReason"), attrs.get("disposition") or None, _flag(attrs, "complaint"),
        _flag(attrs, "resolved"), _ts(rec, "TransferCompletedTimestamp"), transfer_type,
        exit_reason, line,
    )  # fmt: skip


def _masked(rec) -> str:
    if isinstance(rec, dict) and isinstance(rec.get("CustomerEndpoint"), dict):
        rec = dict(rec, CustomerEndpoint={**rec["CustomerEndpoint"], "Address": "<masked>"})
    return mask_numbers(json.dumps(rec, ensure_ascii=False)[:2000])


def read(ctx: FileContext) -> Counts:
    text = decode_strict(ctx.path.read_bytes(), ctx.source_file, "utf-8")
    counts = Counts(source="amazon_connect_ctr")
    rows, bad = [], []
    for line, rec, problem in _objects(text, ctx.source_file):
        counts.rows_read += 1
        if problem:
            bad.append((line, problem, "<unparseable JSON>"))
            continue
        try:
            rows.append(_row(ctx, rec, line))
        except _Bad as e:
            bad.append((line, str(e), _masked(rec)))
    counts.rows_quarantined = quarantine_rows(ctx, "amazon_connect_ctr", bad)
    con = ctx.con
    stage_rows(con, "_ctr", CTR_COLUMNS, rows)
    cols = [c for c, _ in CTR_COLUMNS if c != "source_line"]
    # Latest version per ContactId within the file; then against what is stored.
    con.execute(
        """create or replace temp table _ctr_latest as
           select * exclude (_rn) from (
               select *, row_number() over (partition by ctr_contact_id
                                            order by last_update_ts desc, source_line desc) as _rn
               from _ctr) where _rn = 1"""
    )
    con.execute(
        """create or replace temp table _ctr_new as
           select n.* from _ctr_latest n left join raw.amazon_connect_ctr o using (ctr_contact_id)
           where o.ctr_contact_id is null or o.last_update_ts < n.last_update_ts"""
    )
    loaded = con.execute("select count(*) from _ctr_new").fetchone()[0]
    con.execute(
        """create or replace temp table _aff_contacts as
           select initial_contact_id from _ctr_new
           union select o.initial_contact_id from raw.amazon_connect_ctr o
           where o.ctr_contact_id in (select ctr_contact_id from _ctr_new)"""
    )
    con.execute(
        "delete from raw.amazon_connect_ctr where ctr_contact_id in (select ctr_contact_id from _ctr_new)"
    )
    col_list = ", ".join(cols)
    con.execute(
        f"""insert into raw.amazon_connect_ctr ({col_list}, source_file, source_line, loaded_at)
            select {col_list}, ?, source_line, ? from _ctr_new""",
        [ctx.source_file, ctx.loaded_at],
    )
    counts.rows_loaded = int(loaded)
    counts.rows_duplicate = len(rows) - int(loaded)
    segments = rederive_segments(ctx)
    counts.add_table("contact_segments", segments)
    counts.notes.append(f"{segments} segments derived")
    for t in ("_ctr", "_ctr_latest", "_ctr_new", "_aff_contacts"):
        con.execute(f"drop table if exists {t}")
    return counts


def rederive_segments(ctx: FileContext) -> int:
    """Rebuild raw.contact_segments (amazon_connect) for the contacts in temp table _aff_contacts."""
    con = ctx.con
    con.execute(
        """delete from raw.contact_segments
           where source_system = 'amazon_connect' and contact_id in (select initial_contact_id from _aff_contacts)"""
    )
    return con.execute(
        """insert into raw.contact_segments
           select 'amazon_connect', initial_contact_id,
                  row_number() over w as segment_seq,
                  channel, direction, queue_code, caller_key,
                  coalesce(enqueue_ts, initiation_ts), answer_ts, disconnect_ts, agent_id,
                  wait_s, talk_s, hold_s, acw_s,
                  case when answer_ts is not null
                            and (next_contact_id is not null or transfer_completed_ts is not null
                                 or lead(ctr_contact_id) over w is not null) then 'transferred_out'
                       when answer_ts is not null then 'answered'
                       when queue_code is null then 'ivr_only'
                       when queue_exit_reason = 'customer_abandon' or queue_exit_reason = 'abandon' then 'abandoned'
                       when queue_exit_reason in ('timeout', 'exit_key', 'error') then queue_exit_reason
                       when queue_exit_reason in ('no_agents', 'overflow') then 'overflow'
                       when next_contact_id is not null or lead(ctr_contact_id) over w is not null then 'overflow'
                       when disconnect_reason = 'TELECOM_PROBLEM' then 'error'
                       when disconnect_reason = 'CONTACT_FLOW_DISCONNECT' then 'timeout'
                       else 'abandoned' end,
                  transfer_type,
                  case when next_contact_id is not null or transfer_completed_ts is not null
                            or lead(ctr_contact_id) over w is not null
                       then lead(queue_code) over w end,
                  disposition, complaint, resolved,
                  source_file, source_line, ?
           from raw.amazon_connect_ctr
           where initial_contact_id in (select initial_contact_id from _aff_contacts)
           window w as (partition by initial_contact_id
                        order by coalesce(enqueue_ts, initiation_ts), initiation_ts, ctr_contact_id)""",
        [ctx.loaded_at],
    ).fetchone()[0]
