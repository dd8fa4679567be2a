"""The same core KPIs as bench/reference_sql.py, written in pandas the way an analyst would.

Read every landing file into one DataFrame, convert times per site, groupby for interval SL/ASA
and AHT per agent-day, sort + shift for the 7-day repeat-based FCR. Results are written as
Parquet so the work cannot be skipped; the totals must equal the SQL reference's.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from bench.reference_sql import FCR_WINDOW_DAYS, QUEUE_CONFIG, TOTAL_NAMES, _num, segment_files

COLUMNS = [
    "contact_id",
    "segment_seq",
    "queue_code",
    "caller_number",
    "queue_entry_ts",
    "answer_ts",
    "agent_id",
    "wait_s",
    "talk_s",
    "hold_s",
    "acw_s",
    "outcome",
]


def load(landing: Path) -> pd.DataFrame:
    csv, parquet = segment_files(landing)
    frames = [pd.read_csv(f, usecols=COLUMNS, dtype={"caller_number": "string"}) for f in csv]
    frames += [pd.read_parquet(f, columns=COLUMNS) for f in parquet]
    df = pd.concat(frames, ignore_index=True)
    for c in ("queue_entry_ts", "answer_ts"):
        df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
    for c in ("wait_s", "talk_s", "hold_s", "acw_s"):
        df[c] = df[c].astype("float64")
    return df


def kpis(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    queues = pd.read_csv(QUEUE_CONFIG)
    st = df.merge(queues[["queue_code", "time_zone", "sl_threshold_s", "short_abandon_s"]], on="queue_code")
    st["entry_local"] = pd.NaT
    st["answer_local"] = pd.NaT
    for tz, idx in st.groupby("time_zone").groups.items():
        st.loc[idx, "entry_local"] = st.loc[idx, "queue_entry_ts"].dt.tz_convert(tz).dt.tz_localize(None)
        st.loc[idx, "answer_local"] = st.loc[idx, "answer_ts"].dt.tz_convert(tz).dt.tz_localize(None)
    st["entry_local"] = pd.to_datetime(st["entry_local"])
    st["answer_local"] = pd.to_datetime(st["answer_local"])
    st["interval_start_local"] = st["entry_local"].dt.floor("30min")
    st["is_answered"] = st["answer_ts"].notna()
    st["answered_within_t"] = st["is_answered"] & (st["wait_s"] <= st["sl_threshold_s"])
    st["is_short_abandon"] = (st["outcome"] == "abandoned") & (st["wait_s"] < st["short_abandon_s"])
    st["answered_wait_s"] = st["wait_s"].where(st["is_answered"], 0.0)

    interval = st.groupby(["queue_code", "interval_start_local"], as_index=False).agg(
        offered=("contact_id", "size"),
        answered=("is_answered", "sum"),
        sl_num=("answered_within_t", "sum"),
        short_abandons=("is_short_abandon", "sum"),
        asa_num=("answered_wait_s", "sum"),
    )
    interval["sl_den"] = interval["offered"] - interval["short_abandons"]
    interval["asa_den"] = interval["answered"]
    interval["sl"] = interval["sl_num"] / interval["sl_den"].where(interval["sl_den"] > 0)
    interval["asa"] = interval["asa_num"] / interval["asa_den"].where(interval["asa_den"] > 0)

    legs = st[st["is_answered"] & st["agent_id"].notna()].copy()
    legs["report_date"] = legs["answer_local"].dt.date
    legs["handle_s"] = legs[["talk_s", "hold_s", "acw_s"]].fillna(0).sum(axis=1)
    agent_day = legs.groupby(["agent_id", "report_date"], as_index=False).agg(
        handled=("contact_id", "size"), handle_s=("handle_s", "sum")
    )
    agent_day["aht_s"] = agent_day["handle_s"] / agent_day["handled"]

    first = st.sort_values(["contact_id", "segment_seq"]).drop_duplicates("contact_id")
    contacts = first[["contact_id", "caller_number", "entry_local"]].set_index("contact_id")
    contacts["first_entry_ts"] = st.groupby("contact_id")["queue_entry_ts"].min()
    contacts["handled"] = st.groupby("contact_id")["is_answered"].any()
    contacts["report_date"] = contacts["entry_local"].dt.date
    contacts = contacts[contacts["caller_number"].notna()].sort_values(["caller_number", "first_entry_ts"])
    contacts["next_entry_ts"] = contacts.groupby("caller_number")["first_entry_ts"].shift(-1)
    window = pd.Timedelta(days=FCR_WINDOW_DAYS)
    latest = df["queue_entry_ts"].max()
    handled = contacts[contacts["handled"]].copy()
    repeat = handled["next_entry_ts"] <= handled["first_entry_ts"] + window
    pending = ~repeat & (handled["first_entry_ts"] + window > latest)
    handled["fcr_num"] = ~repeat & ~pending
    handled["fcr_den"] = ~pending
    handled["pending"] = pending & ~repeat
    fcr_day = handled.groupby("report_date", as_index=False)[["fcr_num", "fcr_den", "pending"]].sum()
    return {"kpi_interval": interval, "kpi_agent_day": agent_day, "kpi_fcr_day": fcr_day}


def run(landing: Path, output: Path) -> dict:
    t0 = time.perf_counter()
    df = load(landing)
    loaded = time.perf_counter() - t0
    tables = kpis(df)
    output.mkdir(parents=True, exist_ok=True)
    for name, t in tables.items():
        t.to_parquet(output / f"{name}.parquet", index=False)
    i, a, f = tables["kpi_interval"], tables["kpi_agent_day"], tables["kpi_fcr_day"]
    values = [
        i["offered"].sum(),
        i["sl_num"].sum(),
        i["sl_den"].sum(),
        i["asa_num"].sum(),
        i["asa_den"].sum(),
        a["handled"].sum(),
        a["handle_s"].sum(),
        f["fcr_num"].sum(),
        f["fcr_den"].sum(),
        len(i),
        len(a),
    ]
    return {
        "load_seconds": round(loaded, 3),
        "totals": {k: _num(v) for k, v in zip(TOTAL_NAMES, values, strict=True)},
    }
