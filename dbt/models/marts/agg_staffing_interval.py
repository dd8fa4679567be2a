"""Queue x 30-minute interval staffing: Erlang C required agents vs scheduled vs logged-in.

Uses the tested Erlang functions of `callcenter.erlang` (the same math as `callcenter erlang`)
instead of re-implementing them in SQL. A dbt Python model: it runs in-process on DuckDB only
(dbt-spark's session method cannot run Python models).

- traffic A = offered x AHT / interval length; AHT is the interval's own, or the queue's AHT over
  all its intervals when the interval handled nothing.
- required_agents_c: smallest N > A meeting the queue's SL target at its threshold T.
- required_agents_a (Erlang A, M/M/N+M): only where abandonment is material (abandoned / offered
  >= var erlang_a_min_abandon_share); patience is the exponential-patience estimate
  (all waiting time, answered or not) / abandons. Inputs are rounded (AHT to 5 s, patience to
  10 s) so repeated situations are computed once.
- shrinkage: the scheduled paid time of the queue's skilled agents planned away from contacts,
  or var default_shrinkage when no schedule covers the interval; required_scheduled =
  ceil(required_agents_c / (1 - shrinkage)).
- scheduled_agents / logged_in_agents: average concurrent agents skilled for the queue
  (seconds / interval seconds). An agent skilled for several queues counts in each.

Incremental (delete+insert by report_date, like agg_queue_interval): Erlang A costs tens of
milliseconds per evaluation, so each interval is solved once, when its report date is (re)loaded;
the queue-AHT fallback then uses the rebuilt dates.
"""

import math
from functools import lru_cache

import pandas as pd

from callcenter.erlang import erlang_a_metrics, required_agents_c

COLUMNS = {
    "queue_code": "object",
    "site_code": "object",
    "report_date": "datetime64[us]",
    "interval_start_local": "datetime64[us]",
    "interval_start_utc": "datetime64[us]",
    "offered": "int64",
    "abandoned": "int64",
    "handled": "int64",
    "aht_s": "float64",
    "traffic_erlangs": "float64",
    "sl_target": "float64",
    "sl_threshold_s": "float64",
    "required_agents_c": "int64",
    "erlang_c_service_level": "float64",
    "erlang_c_asa_s": "float64",
    "erlang_c_occupancy": "float64",
    "uses_erlang_a": "bool",
    "patience_s": "float64",
    "required_agents_a": "Int64",
    "erlang_a_abandon_share": "float64",
    "shrinkage": "float64",
    "required_scheduled": "int64",
    "scheduled_agents": "float64",
    "logged_in_agents": "float64",
    "loaded_at": "datetime64[us]",
}


@lru_cache(maxsize=100_000)
def _erlang_c(traffic: float, aht_s: float, target: float, threshold_s: float):
    return required_agents_c(traffic, aht_s, target, threshold_s)


@lru_cache(maxsize=100_000)
def _erlang_a(
    arrivals: int,
    interval_s: float,
    aht_s: float,
    patience_s: float,
    target: float,
    threshold_s: float,
    upper: int,
):
    """Smallest N meeting the target under Erlang A: SL grows with N, so bisect below Erlang C's N."""
    rate = arrivals / interval_s

    def meets(n: int):
        r = erlang_a_metrics(n, rate, aht_s, patience_s, threshold_s)
        return r.service_level >= target, r

    ok, best = meets(upper)
    while not ok and upper < 10_000:
        upper *= 2
        ok, best = meets(upper)
    lo, hi = 1, upper
    while lo < hi:
        mid = (lo + hi) // 2
        mid_ok, mid_r = meets(mid)
        if mid_ok:
            hi, best = mid, mid_r
        else:
            lo = mid + 1
    return hi, float(best.p_abandon)


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="delete+insert", unique_key="report_date")
    interval_s = float(dbt.config.get("interval_minutes") or 30) * 60
    default_shrinkage = float(dbt.config.get("default_shrinkage"))
    min_abandon_share = float(dbt.config.get("erlang_a_min_abandon_share"))

    intervals = dbt.ref("agg_queue_interval").df()
    if dbt.is_incremental:
        watermark = session.execute(f"select max(loaded_at) from {dbt.this}").fetchall()[0][0]
        if watermark is not None:
            touched = intervals.loc[intervals["loaded_at"] > watermark, "report_date"].unique()
            intervals = intervals[intervals["report_date"].isin(touched)]
    queues = dbt.ref("int_queues_configured").df()[["queue_code", "sl_target", "sl_threshold_s"]]
    staffed = dbt.ref("int_agent_intervals_staffed").df()
    skills = dbt.ref("int_agent_skills_split").df()[["agent_id", "queue_code"]]

    if intervals.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})

    df = intervals.merge(queues, on="queue_code", how="left")
    queue_aht = (
        df.groupby("queue_code")[["aht_num", "aht_den"]]
        .sum()
        .assign(queue_aht_s=lambda t: t.aht_num / t.aht_den.where(t.aht_den > 0))["queue_aht_s"]
    )
    df["aht_s"] = (
        (df["aht_num"] / df["aht_den"].where(df["aht_den"] > 0))
        .fillna(df["queue_code"].map(queue_aht))
        .where(df["offered"] > 0)
    )
    df["traffic_erlangs"] = (df["offered"] * df["aht_s"] / interval_s).fillna(0.0)

    # supply: skilled agents' logged-in and scheduled seconds per queue and interval
    supply = staffed.merge(skills, on="agent_id", how="inner")
    supply = supply.groupby(["queue_code", "interval_start_utc"], as_index=False)[
        ["logged_in_s", "scheduled_paid_s", "scheduled_shrink_s"]
    ].sum()
    df = df.merge(supply, on=["queue_code", "interval_start_utc"], how="left")
    for c in ("logged_in_s", "scheduled_paid_s", "scheduled_shrink_s"):
        df[c] = df[c].fillna(0.0)
    df["shrinkage"] = (
        df["scheduled_shrink_s"] / df["scheduled_paid_s"].where(df["scheduled_paid_s"] > 0)
    ).fillna(default_shrinkage)
    df["scheduled_agents"] = (df["scheduled_paid_s"] - df["scheduled_shrink_s"]) / interval_s
    df["logged_in_agents"] = df["logged_in_s"] / interval_s

    rows = []
    for r in df.itertuples(index=False):
        traffic = float(r.traffic_erlangs)
        aht = float(r.aht_s) if r.aht_s == r.aht_s else 0.0
        if traffic > 0 and aht > 0:
            c = _erlang_c(round(traffic, 6), round(aht, 3), float(r.sl_target), float(r.sl_threshold_s))
            n_c, sl_c, asa_c, occ_c = c.agents, c.service_level, c.asa_s, c.occupancy
        else:
            n_c, sl_c, asa_c, occ_c = 0, None, None, None
        uses_a = bool(
            r.offered > 0 and r.abandoned > 0 and r.abandoned / r.offered >= min_abandon_share and aht > 0
        )
        patience = n_a = p_abandon = None
        if uses_a:
            patience = (float(r.wait_answered_s) + float(r.wait_abandoned_s)) / r.abandoned
            patience = max(10.0, round(patience / 10.0) * 10.0)
            n_a, p_abandon = _erlang_a(
                int(r.offered),
                interval_s,
                max(5.0, round(aht / 5.0) * 5.0),
                patience,
                float(r.sl_target),
                float(r.sl_threshold_s),
                max(1, n_c),
            )
        rows.append((n_c, sl_c, asa_c, occ_c, uses_a, patience, n_a, p_abandon))

    extra = pd.DataFrame(
        rows,
        columns=[
            "required_agents_c",
            "erlang_c_service_level",
            "erlang_c_asa_s",
            "erlang_c_occupancy",
            "uses_erlang_a",
            "patience_s",
            "required_agents_a",
            "erlang_a_abandon_share",
        ],
        index=df.index,
    )
    df = pd.concat([df, extra], axis=1)
    df["required_scheduled"] = [
        math.ceil(round(n / (1 - s), 9)) if s < 1 else n
        for n, s in zip(df["required_agents_c"], df["shrinkage"], strict=True)
    ]
    out = df[list(COLUMNS)].copy()
    return out.astype({c: t for c, t in COLUMNS.items() if t not in ("object", "datetime64[us]")})
