"""Queue x 30-minute interval staffing: Erlang C required agents vs scheduled vs logged-in.

Uses the tested Erlang functions of `callcenter.erlang` (the same math as `callcenter erlang`)
instead of re-implementing them in SQL. A dbt Python model: it runs in-process on DuckDB only
(dbt-spark's session method cannot run Python models).

- traffic A = offered x AHT / interval length; AHT is the interval's own, or the queue's AHT over
  all its (rebuilt) intervals when the interval handled nothing.
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

Speed: DuckDB selects the touched report dates and sums the supply per queue and interval, so
only the rebuilt intervals reach pandas; Erlang C and Erlang A are solved for all distinct
situations at once (`required_agents_c_many`, `required_agents_a_many`: numpy over arrays).

Incremental (delete+insert by report_date, like agg_queue_interval): a run rebuilds the report
dates whose agg_queue_interval rows were loaded after this table's newest loaded_at.

weekday / time_of_day are agg_queue_interval's labels (from the interval spine), carried so an
intraday staffing profile groups by half-hour of the day without converting timestamps.
"""

import math

import numpy as np
import pandas as pd

from callcenter.erlang import required_agents_a_many, required_agents_c_many

COLUMNS = {
    "queue_code": "object",
    "site_code": "object",
    "report_date": "datetime64[us]",
    "interval_start_local": "datetime64[us]",
    "interval_start_utc": "datetime64[us]",
    "weekday": "int64",
    "time_of_day": "object",
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


def _table(relation) -> str:
    """A dbt.ref relation (dbt-duckdb: `select * from <table>`) as a subquery for SQL."""
    return f"({relation.sql_query()})"


def _column_names(session, relation) -> set[str]:
    return {r[0].lower() for r in session.execute(f"describe select * from {relation}").fetchall()}


def _solve_distinct(keys: pd.DataFrame, solve) -> pd.DataFrame:
    """Solve each distinct row of `keys` once; returns the answers aligned with `keys`."""
    distinct = keys.drop_duplicates().reset_index(drop=True)
    answers = solve(distinct)
    return keys.merge(pd.concat([distinct, answers], axis=1), on=list(keys.columns), how="left")[
        list(answers.columns)
    ].set_axis(keys.index)


def erlang_columns(df: pd.DataFrame, interval_s: float, min_abandon_share: float) -> pd.DataFrame:
    """Erlang C and Erlang A columns for intervals with offered, abandoned, aht_s, traffic_erlangs,
    wait sums and the queue's sl_target / sl_threshold_s (one row per input row)."""
    out = pd.DataFrame(index=df.index)
    aht = df["aht_s"].fillna(0.0).to_numpy(dtype=float)
    traffic = df["traffic_erlangs"].to_numpy(dtype=float)
    target = df["sl_target"].to_numpy(dtype=float)
    threshold = df["sl_threshold_s"].to_numpy(dtype=float)
    offered = df["offered"].to_numpy(dtype=np.int64)
    abandoned = df["abandoned"].to_numpy(dtype=np.int64)

    solved_c = (traffic > 0) & (aht > 0)
    keys_c = pd.DataFrame(
        {
            # Python's round, as the scalar functions are called with (numpy's differs in the last bit)
            "traffic": [round(x, 6) for x in traffic[solved_c].tolist()],
            "aht": [round(x, 3) for x in aht[solved_c].tolist()],
            "target": target[solved_c],
            "threshold": threshold[solved_c],
        }
    )

    def solve_c(k: pd.DataFrame) -> pd.DataFrame:
        r = required_agents_c_many(k["traffic"], k["aht"], k["target"], k["threshold"])
        return pd.DataFrame({"n": r.agents, "sl": r.service_level, "asa": r.asa_s, "occ": r.occupancy})

    c = _solve_distinct(keys_c, solve_c)
    n_c = np.zeros(len(df), dtype=np.int64)
    n_c[solved_c] = c["n"].to_numpy()
    out["required_agents_c"] = n_c
    for name, col in (
        ("erlang_c_service_level", "sl"),
        ("erlang_c_asa_s", "asa"),
        ("erlang_c_occupancy", "occ"),
    ):
        values = np.full(len(df), np.nan)
        values[solved_c] = c[col].to_numpy()
        out[name] = values

    with np.errstate(divide="ignore", invalid="ignore"):
        abandon_share = np.where(offered > 0, abandoned / np.maximum(offered, 1), 0.0)
    uses_a = (offered > 0) & (abandoned > 0) & (abandon_share >= min_abandon_share) & (aht > 0)
    out["uses_erlang_a"] = uses_a
    waits = (df["wait_answered_s"].to_numpy(dtype=float) + df["wait_abandoned_s"].to_numpy(dtype=float))[
        uses_a
    ]
    keys_a = pd.DataFrame(
        {
            "offered": offered[uses_a],
            "aht": [max(5.0, round(x / 5.0) * 5.0) for x in aht[uses_a].tolist()],
            "patience": [
                max(10.0, round(w / a / 10.0) * 10.0)
                for w, a in zip(waits.tolist(), abandoned[uses_a].tolist(), strict=True)
            ],
            "target": target[uses_a],
            "threshold": threshold[uses_a],
            "start": np.maximum(1, n_c[uses_a]),
        }
    )

    def solve_a(k: pd.DataFrame) -> pd.DataFrame:
        n, p_abandon = required_agents_a_many(
            k["offered"].to_numpy() / interval_s,
            k["aht"],
            k["patience"],
            k["target"],
            k["threshold"],
            k["start"],
        )
        return pd.DataFrame({"n": n, "p_abandon": p_abandon})

    a = _solve_distinct(keys_a, solve_a)
    patience = np.full(len(df), np.nan)
    patience[uses_a] = keys_a["patience"].to_numpy()
    out["patience_s"] = patience
    n_a = pd.array([pd.NA] * len(df), dtype="Int64")
    n_a[uses_a] = a["n"].to_numpy()
    out["required_agents_a"] = n_a
    p_abandon = np.full(len(df), np.nan)
    p_abandon[uses_a] = a["p_abandon"].to_numpy()
    out["erlang_a_abandon_share"] = p_abandon
    return out


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="report_date",
        on_schema_change="sync_all_columns",
    )
    # a call nested in `or` would hide the key from dbt's config parser (it would then be None)
    interval_s = float(dbt.config.get("interval_minutes")) * 60
    default_shrinkage = float(dbt.config.get("default_shrinkage"))
    min_abandon_share = float(dbt.config.get("erlang_a_min_abandon_share"))

    queue_intervals = _table(dbt.ref("agg_queue_interval"))
    watermark = None
    # a table built before the interval labels existed is rebuilt in full once (every row gets them)
    if dbt.is_incremental and "time_of_day" in _column_names(session, dbt.this):
        watermark = session.execute(f"select max(loaded_at) from {dbt.this}").fetchall()[0][0]
    touched = "true"
    params = []
    if watermark is not None:
        touched = f"i.report_date in (select report_date from {queue_intervals} where loaded_at > ?)"
        params = [watermark]
    df = session.execute(
        f"""
        select
            i.queue_code, i.site_code, i.report_date, i.interval_start_local, i.interval_start_utc,
            i.weekday, i.time_of_day, i.offered, i.abandoned, i.handled, i.aht_num, i.aht_den, i.wait_answered_s,
            i.wait_abandoned_s, i.loaded_at, q.sl_target, q.sl_threshold_s
        from {queue_intervals} as i
        left join {_table(dbt.ref("int_queues_configured"))} as q on i.queue_code = q.queue_code
        where {touched}
        """,
        params,
    ).df()
    if df.empty:  # nothing touched; text columns typed, as an empty object column reads as NULL-typed
        return pd.DataFrame(
            {c: pd.Series(dtype="string" if t == "object" else t) for c, t in COLUMNS.items()}
        )

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

    # supply: skilled agents' logged-in and scheduled seconds per queue and interval, summed in
    # DuckDB over the rebuilt intervals only
    supply = session.execute(
        f"""
        select
            k.queue_code,
            s.interval_start_utc,
            sum(s.logged_in_s) as logged_in_s,
            sum(s.scheduled_paid_s) as scheduled_paid_s,
            sum(s.scheduled_shrink_s) as scheduled_shrink_s
        from {_table(dbt.ref("int_agent_intervals_staffed"))} as s
        inner join {_table(dbt.ref("int_agent_skills_split"))} as k on s.agent_id = k.agent_id
        where s.interval_start_utc between ? and ?
        group by k.queue_code, s.interval_start_utc
        """,
        [df["interval_start_utc"].min(), df["interval_start_utc"].max()],
    ).df()
    df = df.merge(supply, on=["queue_code", "interval_start_utc"], how="left")
    for c in ("logged_in_s", "scheduled_paid_s", "scheduled_shrink_s"):
        df[c] = df[c].fillna(0.0)
    df["shrinkage"] = (
        df["scheduled_shrink_s"] / df["scheduled_paid_s"].where(df["scheduled_paid_s"] > 0)
    ).fillna(default_shrinkage)
    df["scheduled_agents"] = (df["scheduled_paid_s"] - df["scheduled_shrink_s"]) / interval_s
    df["logged_in_agents"] = df["logged_in_s"] / interval_s

    df = pd.concat([df, erlang_columns(df, interval_s, min_abandon_share)], axis=1)
    df["required_scheduled"] = [
        math.ceil(round(n / (1 - s), 9)) if s < 1 else n
        for n, s in zip(df["required_agents_c"], df["shrinkage"], strict=True)
    ]
    out = df[list(COLUMNS)].copy()
    return out.astype({c: t for c, t in COLUMNS.items() if t not in ("object", "datetime64[us]")})
