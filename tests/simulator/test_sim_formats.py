"""Every rendered format is valid by its public specification, and all renderings carry the same calls."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime, timedelta

import pandas as pd
import pyarrow.parquet as pq

from simulator.render import CANONICAL_COLUMNS

# data fields Asterisk's app_queue writes after the event name (docs.asterisk.org "Queue Logs")
QUEUE_LOG_FIELDS = {
    "ENTERQUEUE": 3,  # url|callerid|position
    "CONNECT": 3,  # holdtime|bridgedchanneluniqueid|ringtime
    "COMPLETECALLER": 3,  # holdtime|calltime|origposition
    "COMPLETEAGENT": 3,
    "ABANDON": 3,  # position|origposition|waittime
    "EXITWITHTIMEOUT": 3,
    "EXITEMPTY": 3,
    "EXITWITHKEY": 4,  # key|position|origposition|waittime
    "BLINDTRANSFER": 5,  # extension|context|holdtime|calltime|origposition
    "ATTENDEDTRANSFER": 5,  # method(BRIDGE)|bridge uniqueid|holdtime|calltime|origposition
    "RINGNOANSWER": 1,  # ringtime in milliseconds
    "AGENTLOGIN": 1,  # channel
    "AGENTLOGOFF": 2,  # channel|logintime
    "ADDMEMBER": 1,
    "REMOVEMEMBER": 1,
    "PAUSE": 1,  # reason
    "UNPAUSE": 1,
    "QUEUESTART": 1,
}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _truth(run) -> pd.DataFrame:
    return pq.read_table(run.data_dir / "truth" / "segments").to_pandas()


def _queue_log(run) -> list[list[str]]:
    lines = []
    for p in sorted((run.data_dir / "landing" / "asterisk").glob("queue_log*")):
        lines += [line.split("|") for line in p.read_text(encoding="utf-8").splitlines()]
    return lines


def test_canonical_segments_contract(canonical_run):
    folder = canonical_run.data_dir / "landing" / "contact_segments"
    kinds = {p.suffix for p in folder.iterdir()}
    assert kinds == {".csv", ".parquet"}
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in folder.glob("*.csv")]
    frames += [pq.read_table(p).to_pandas().astype(str) for p in folder.glob("*.parquet")]
    for df in frames:
        assert list(df.columns) == CANONICAL_COLUMNS
    df = pd.concat(frames, ignore_index=True)
    assert df["queue_entry_ts"].str.match(ISO_Z).all()
    assert set(df["outcome"]) <= {
        "answered",
        "abandoned",
        "timeout",
        "exit_key",
        "overflow",
        "transferred_out",
    }
    numbers = df["caller_number"]
    assert numbers.str.match(r"^\+861\d{10}$").any() and numbers.str.match(r"^1\d{10}$").any()
    assert numbers.str.match(r"^\+447\d{9}$").any() and (numbers.isin(["", "None", "nan"])).any()
    assert len(df) == len(_truth(canonical_run))


def test_same_calls_whatever_the_telephony(canonical_run, asterisk_run, connect_run):
    a, b, c = (_truth(r) for r in (canonical_run, asterisk_run, connect_run))
    cols = [
        "contact_id",
        "segment_seq",
        "queue_code",
        "queue_entry_ts",
        "answer_ts",
        "outcome",
        "wait_s",
        "talk_s",
    ]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    pd.testing.assert_frame_equal(a[cols], c[cols])


def test_queue_log_events_carry_asterisk_fields(asterisk_run):
    lines = _queue_log(asterisk_run)
    counts = Counter(f[4] for f in lines)
    for event in ("ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "RINGNOANSWER",
                  "BLINDTRANSFER", "ATTENDEDTRANSFER", "AGENTLOGIN", "AGENTLOGOFF", "PAUSE", "UNPAUSE",
                  "ADDMEMBER", "REMOVEMEMBER", "QUEUESTART"):  # fmt: skip
        assert counts[event] > 0, f"no {event} events"
    for f in lines:
        assert f[0].isdigit(), f
        assert len(f) - 5 == QUEUE_LOG_FIELDS[f[4]], f
        if f[4] == "RINGNOANSWER":
            assert int(f[5]) >= 1000 and int(f[5]) % 1000 == 0  # milliseconds
        if f[4] in ("CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"):
            assert all(x.isdigit() for x in f[5:] if x and not re.match(r"^\d+\.\d+$", x)), f
        if f[4] == "ATTENDEDTRANSFER":
            assert f[5] == "BRIDGE"


def test_queue_log_matches_the_calls(asterisk_run):
    truth = _truth(asterisk_run)
    lines = _queue_log(asterisk_run)
    enter = [f for f in lines if f[4] == "ENTERQUEUE"]
    connect = {(f[1], f[2]): f for f in lines if f[4] == "CONNECT"}
    assert len(enter) == len(truth)
    answered = truth[truth.agent_id.notna()]
    assert len(connect) == len(answered)
    for row in answered.head(300).itertuples():
        f = connect[(row.asterisk_uniqueid, row.queue_code)]
        assert int(f[5]) == row.wait_s  # Asterisk "holdtime" is queue wait
        assert f[3] == f"Agent/{row.agent_id}"
    done = {(f[1], f[2]): f for f in lines if f[4] in ("COMPLETECALLER", "COMPLETEAGENT")}
    for row in truth[truth.outcome == "answered"].head(300).itertuples():
        assert int(done[(row.asterisk_uniqueid, row.queue_code)][6]) == row.talk_s + row.hold_s


def test_a_transferred_call_keeps_its_uniqueid(asterisk_run):
    truth = _truth(asterisk_run)
    per_contact = truth.groupby("contact_id")["asterisk_uniqueid"].nunique()
    assert (truth.groupby("contact_id").size() > 1).sum() > 10  # there are transfers to check
    assert (per_contact == 1).all()
    lines = _queue_log(asterisk_run)
    entered = Counter(f[1] for f in lines if f[4] == "ENTERQUEUE")
    assert len(entered) == truth["contact_id"].nunique()  # one channel per contact, re-entering on transfer


def test_cdr_master_csv_layout(asterisk_run, sql):
    truth = _truth(asterisk_run).set_index("asterisk_uniqueid")
    rows = []
    for p in (asterisk_run.data_dir / "landing" / "asterisk").glob("Master*.csv"):
        rows += list(csv.reader(p.open(encoding="utf-8")))
    assert rows and all(len(r) == 18 for r in rows)  # cdr_csv + loguniqueid + loguserfield, no header
    assert rows[0][0] != "accountcode"
    for r in rows[:200]:
        entry = truth.loc[r[16], "queue_entry_ts"]
        entry = entry.iloc[0] if isinstance(entry, pd.Series) else entry
        start_local = datetime.strptime(r[9], "%Y-%m-%d %H:%M:%S")
        # PBX local time (Asia/Shanghai), not UTC; the first leg starts when the call enters the queue
        assert abs(start_local - (entry.to_pydatetime() + timedelta(hours=8))) <= timedelta(days=1)
        assert r[14] in ("ANSWERED", "NO ANSWER") and int(r[12]) >= int(r[13])


def test_ctr_records_are_firehose_json_lines(connect_run):
    records = []
    for p in sorted((connect_run.data_dir / "landing" / "amazon_connect").glob("*.jsonl")):
        records += [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
    truth = _truth(connect_run)
    by_id: dict[str, list[dict]] = {}
    for r in records:
        by_id.setdefault(r["ContactId"], []).append(r)
        assert r["Channel"] == "VOICE" and r["InitiationMethod"] in ("INBOUND", "TRANSFER")
        for key in ("InitiationTimestamp", "DisconnectTimestamp", "LastUpdateTimestamp"):
            assert ISO_Z.match(r[key])
        assert isinstance(r["Queue"]["Duration"], int) and ISO_Z.match(r["Queue"]["EnqueueTimestamp"])
        if r["Agent"]:
            a = r["Agent"]
            for key in (
                "AgentInteractionDuration",
                "CustomerHoldDuration",
                "AfterContactWorkDuration",
                "NumberOfHolds",
            ):
                assert isinstance(a[key], int)
            assert ISO_Z.match(a["ConnectedToAgentTimestamp"])
        if r["CustomerEndpoint"]:
            assert r["CustomerEndpoint"]["Type"] == "TELEPHONE_NUMBER" and r["CustomerEndpoint"][
                "Address"
            ].startswith("+")
    assert len(by_id) == len(truth)
    twice = [v for v in by_id.values() if len(v) > 1]
    assert twice, "some CTRs must be delivered twice"
    for copies in twice:
        assert copies[1]["LastUpdateTimestamp"] > copies[0]["LastUpdateTimestamp"]
    transfers = [v[0] for v in by_id.values() if v[0]["InitiationMethod"] == "TRANSFER"]
    assert transfers
    for t in transfers:
        assert t["PreviousContactId"] in by_id and t["InitialContactId"] in by_id


def test_dst_switch_day_is_simulated_in_local_time(tmp_path):
    """London's spring-forward day: no 01:00-02:00 local interval exists, shifts start at 08:00 BST."""
    from datetime import date

    from simulator import DEFAULT_START, simulate

    assert DEFAULT_START + timedelta(days=34) >= date(2026, 3, 29)  # the demo span covers the switch
    run = simulate(tmp_path, days=3, start=date(2026, 3, 28), seed=3, scale=0.8, progress=False)
    iv = pq.read_table(run.data_dir / "truth" / "intervals.parquet").to_pandas()
    lon = iv[
        (iv.queue_code == "intl_support") & (pd.to_datetime(iv.report_date) == pd.Timestamp("2026-03-29"))
    ]
    assert not (lon.interval_start_local.dt.hour == 1).any()
    assert lon.offered.sum() > 0
    sched = pd.read_excel(next((run.data_dir / "landing" / "schedules").glob("*_lon.xlsx")), dtype=str)
    assert (sched["开始时间"] == "2026-03-29 08:00").any()
    states = pd.concat(
        pd.read_csv(p, dtype=str) for p in (run.data_dir / "landing" / "agent_states").glob("*.csv")
    )
    logins = states[(states.state == "logged_in") & states.agent_id.isin(set(sched["工号"]))]
    local = pd.to_datetime(logins.start_ts, utc=True).dt.tz_convert("Europe/London")
    minute = local.dt.hour * 60 + local.dt.minute
    on_time = ((minute >= 7 * 60 + 45) & (minute < 8 * 60 + 16)) | (
        (minute >= 8 * 60 + 45) & (minute < 9 * 60 + 16)
    )
    for day in ("2026-03-28", "2026-03-30"):  # GMT before the switch, BST after it
        m = (local.dt.date == pd.Timestamp(day).date()).to_numpy()
        assert m.sum() >= 3 and on_time[m].mean() >= 0.7
