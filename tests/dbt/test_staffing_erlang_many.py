"""The vectorised Erlang solvers of agg_staffing_interval against the scalar functions.

`callcenter.erlang` keeps the scalar Erlang C / A functions (checked against METRICS.md in
tests/test_erlang.py); the model solves all intervals at once with their `*_many` twins. These
tests feed both a few hundred random intervals, plus the edges (no calls, a sliver of load, more
load than any realistic staff, zero threshold, instant abandoners), and require the same agent
counts and the same probabilities to 1e-9.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest

from callcenter import erlang
from tests.dbt.conftest import DBT_DIR

INTERVAL_S = 1800.0


def _load_model():
    spec = importlib.util.spec_from_file_location(
        "agg_staffing_interval", DBT_DIR / "models" / "marts" / "agg_staffing_interval.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bisect_erlang_a(arrivals, aht_s, patience_s, target, threshold_s, upper):
    """The model's former per-interval search: smallest N meeting the target, bisected below
    Erlang C's N (doubling first if that N misses), one scalar `erlang_a_metrics` per probe."""
    rate = arrivals / INTERVAL_S

    def meets(n):
        r = erlang.erlang_a_metrics(n, rate, aht_s, patience_s, threshold_s)
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


def random_intervals(seed: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    offered = rng.integers(0, 400, rows)
    offered[:10] = 0  # no calls
    offered[10:20] = 1  # a sliver of load
    offered[20:25] = rng.integers(900, 1200, 5)  # far more than a usual interval
    abandoned = np.minimum(offered, rng.binomial(offered, rng.choice([0.0, 0.01, 0.05, 0.2, 0.6], rows)))
    aht = rng.uniform(20, 900, rows)
    aht[25:30] = np.nan  # nothing handled and no queue AHT to fall back on
    df = pd.DataFrame(
        {
            "offered": offered,
            "abandoned": abandoned,
            "aht_s": np.where(offered > 0, aht, np.nan),
            "wait_answered_s": rng.uniform(0, 40, rows) * offered,
            "wait_abandoned_s": rng.uniform(0, 120, rows) * abandoned,
            # FLOAT seeds (float32) as in int_queues_configured
            "sl_target": rng.choice(np.array([0.7, 0.8, 0.9, 0.95], dtype=np.float32), rows).astype(float),
            "sl_threshold_s": rng.choice([0.0, 10.0, 20.0, 60.0], rows),
        }
    )
    df.loc[30:34, "wait_answered_s"] = 0.0  # patience estimate below the 10 s floor
    df.loc[30:34, "wait_abandoned_s"] = 0.0
    df["traffic_erlangs"] = (df["offered"] * df["aht_s"] / INTERVAL_S).fillna(0.0)
    return df


def scalar_columns(df: pd.DataFrame, min_abandon_share: float) -> pd.DataFrame:
    """The model's former per-interval loop, on the scalar functions of callcenter.erlang."""
    rows = []
    for r in df.itertuples(index=False):
        traffic = float(r.traffic_erlangs)
        aht = float(r.aht_s) if r.aht_s == r.aht_s else 0.0
        if traffic > 0 and aht > 0:
            c = erlang.required_agents_c(
                round(traffic, 6), round(aht, 3), float(r.sl_target), float(r.sl_threshold_s)
            )
            n_c, sl_c, asa_c, occ_c = c.agents, c.service_level, c.asa_s, c.occupancy
        else:
            n_c, sl_c, asa_c, occ_c = 0, math.nan, math.nan, math.nan
        uses_a = bool(
            r.offered > 0 and r.abandoned > 0 and r.abandoned / r.offered >= min_abandon_share and aht > 0
        )
        patience = n_a = p_abandon = math.nan
        if uses_a:
            patience = (float(r.wait_answered_s) + float(r.wait_abandoned_s)) / r.abandoned
            patience = max(10.0, round(patience / 10.0) * 10.0)
            n_a, p_abandon = bisect_erlang_a(
                int(r.offered),
                max(5.0, round(aht / 5.0) * 5.0),
                patience,
                float(r.sl_target),
                float(r.sl_threshold_s),
                max(1, n_c),
            )
        rows.append((n_c, sl_c, asa_c, occ_c, uses_a, patience, n_a, p_abandon))
    return pd.DataFrame(
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
    )


def test_model_erlang_columns_equal_the_scalar_loop():
    df = random_intervals(seed=11, rows=240)
    got = _load_model().erlang_columns(df, INTERVAL_S, 0.03)
    want = scalar_columns(df, 0.03)
    # the edges are really in the sample
    assert (df["offered"] == 0).sum() >= 10 and (want["required_agents_c"] == 0).sum() >= 10
    assert want["uses_erlang_a"].sum() > 100 and (~want["uses_erlang_a"]).sum() > 50
    assert want["required_agents_c"].max() > 100
    assert (got["required_agents_c"].to_numpy() == want["required_agents_c"].to_numpy()).all()
    assert (got["uses_erlang_a"].to_numpy() == want["uses_erlang_a"].to_numpy()).all()
    uses_a = want["uses_erlang_a"].to_numpy()
    assert got["required_agents_a"].isna().to_numpy().tolist() == (~uses_a).tolist()
    assert (
        got["required_agents_a"][uses_a].astype(int).to_numpy() == want["required_agents_a"][uses_a]
    ).all()
    for col in (
        "erlang_c_service_level",
        "erlang_c_asa_s",
        "erlang_c_occupancy",
        "patience_s",
        "erlang_a_abandon_share",
    ):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=0, atol=1e-9)


def test_required_agents_c_many_matches_the_scalar_search():
    rng = np.random.default_rng(3)
    traffic = np.r_[0.0, 1e-6, 0.004, 0.5, 10.0, 150.0, rng.uniform(0, 60, 200)]
    aht = rng.uniform(10, 900, len(traffic))
    target = rng.choice([0.5, 0.8, 0.9, 0.99], len(traffic))
    threshold = rng.choice([0.0, 20.0, 60.0], len(traffic))
    got = erlang.required_agents_c_many(traffic, aht, target, threshold)
    for i, (a, h, g, t) in enumerate(zip(traffic, aht, target, threshold, strict=True)):
        want = erlang.required_agents_c(a, h, g, t)
        assert got.agents[i] == want.agents
        for field in ("p_wait", "service_level", "asa_s", "occupancy"):
            assert getattr(got, field)[i] == pytest.approx(getattr(want, field), abs=1e-9)


def test_required_agents_c_many_metrics_md_check_values():
    r = erlang.required_agents_c_many([120 * 300 / 3600], [300.0], [0.8], [20.0])
    assert r.agents[0] == 14
    assert r.service_level[0] == pytest.approx(0.867, abs=0.0005)
    assert r.asa_s[0] == pytest.approx(13, abs=0.5)
    assert r.occupancy[0] == pytest.approx(10 / 14)


def test_erlang_a_service_many_matches_erlang_a_metrics():
    rng = np.random.default_rng(5)
    rows = 150
    agents = rng.integers(1, 60, rows)
    rate = rng.uniform(0.0005, 0.15, rows)
    aht = rng.choice([5.0, 60.0, 300.0, 600.0], rows)
    patience = rng.choice([10.0, 60.0, 300.0, 1e5], rows)
    threshold = rng.choice([0.0, 20.0, 60.0], rows)
    sl, p_abandon = erlang.erlang_a_service_many(agents, rate, aht, patience, threshold, batch=64)
    for i in range(rows):
        want = erlang.erlang_a_metrics(int(agents[i]), rate[i], aht[i], patience[i], threshold[i])
        assert sl[i] == pytest.approx(want.service_level, abs=1e-9)
        assert p_abandon[i] == pytest.approx(want.p_abandon, abs=1e-9)


def test_required_agents_a_many_matches_the_scalar_walk_down():
    # erlang.required_agents_a starts from Erlang C's N and walks down; so does the vectorised one
    rng = np.random.default_rng(8)
    rows = 60
    rate = rng.uniform(0.001, 0.1, rows)
    aht = rng.choice([60.0, 180.0, 300.0], rows)
    patience = rng.choice([30.0, 120.0, 600.0], rows)
    target = np.full(rows, 0.8)
    threshold = np.full(rows, 20.0)
    start = erlang.required_agents_c_many(rate * aht, aht, target, threshold).agents
    n, p_abandon = erlang.required_agents_a_many(rate, aht, patience, target, threshold, start)
    for i in range(rows):
        want = erlang.required_agents_a(rate[i], aht[i], patience[i], 0.8, 20.0)
        assert n[i] == want.agents
        assert p_abandon[i] == pytest.approx(want.p_abandon, abs=1e-9)
