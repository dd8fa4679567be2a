"""Erlang C and Erlang A staffing math (METRICS.md, "Staffing (Erlang)").

One implementation used by `callcenter erlang` and by the `agg_staffing_interval` dbt model.
Traffic A = arrivals × AHT / interval length, in Erlangs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm


def erlang_c(agents: int, traffic: float) -> float:
    """P(wait > 0) for N agents and A Erlangs (Erlang C). 1.0 when the queue is unstable (N <= A)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    # Erlang B by the stable recurrence, then C = B / (1 - rho (1 - B)).
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    rho = traffic / agents
    return b / (1 - rho * (1 - b))


@dataclass(frozen=True)
class ErlangCResult:
    agents: int
    traffic: float
    p_wait: float
    service_level: float
    asa_s: float
    occupancy: float


def erlang_c_metrics(agents: int, traffic: float, aht_s: float, threshold_s: float) -> ErlangCResult:
    c = erlang_c(agents, traffic)
    if agents <= traffic:
        return ErlangCResult(agents, traffic, 1.0, 0.0, math.inf, 1.0)
    sl = 1 - c * math.exp(-(agents - traffic) * threshold_s / aht_s)
    asa = c * aht_s / (agents - traffic)
    return ErlangCResult(agents, traffic, c, sl, asa, traffic / agents)


def required_agents_c(
    traffic: float,
    aht_s: float,
    target_sl: float,
    threshold_s: float,
    max_asa_s: float | None = None,
    max_occupancy: float | None = None,
) -> ErlangCResult:
    """Smallest N > A meeting the SL target (and optional ASA / occupancy caps)."""
    if traffic <= 0:
        return ErlangCResult(0, traffic, 0.0, 1.0, 0.0, 0.0)
    n = max(1, math.floor(traffic) + 1)
    while True:
        r = erlang_c_metrics(n, traffic, aht_s, threshold_s)
        ok = r.service_level >= target_sl
        ok = ok and (max_asa_s is None or r.asa_s <= max_asa_s)
        ok = ok and (max_occupancy is None or r.occupancy <= max_occupancy)
        if ok:
            return r
        n += 1


@dataclass(frozen=True)
class ErlangAResult:
    agents: int
    traffic: float
    p_wait: float
    p_abandon: float
    service_level: float
    asa_s: float
    occupancy: float


def erlang_a_metrics(
    agents: int, arrival_rate_s: float, aht_s: float, patience_s: float, threshold_s: float
) -> ErlangAResult:
    """M/M/N+M (Erlang A): exponential patience with mean `patience_s`.

    Stationary distribution of the birth-death chain (truncated where its tail is negligible);
    SL = P(answered within T) over all arrivals, from the phase-type wait of an arrival who finds
    k callers ahead (matrix exponential of the absorbing chain).
    """
    lam, mu, theta = arrival_rate_s, 1 / aht_s, 1 / patience_s
    traffic = lam * aht_s
    # stationary probabilities p_n, computed in log space
    cap = agents + int(50 + 10 * traffic)
    logp = [0.0]
    for n in range(1, cap + 1):
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        logp.append(logp[-1] + math.log(lam) - math.log(death))
    m = max(logp)
    p = np.exp(np.array(logp) - m)
    p /= p.sum()
    p_wait = float(p[agents:].sum())
    served_rate = sum(min(n, agents) * mu * p[n] for n in range(len(p)))
    p_abandon = max(0.0, 1 - served_rate / lam)
    occupancy = served_rate / mu / agents if agents else 1.0
    # waiting-time analysis for arrivals who find k >= 0 callers ahead in queue
    sl = float(p[:agents].sum())  # answered immediately
    wait_sum = 0.0
    for k in range(0, cap - agents):
        pk = p[agents + k]
        if pk < 1e-12:
            continue
        # transient states: j = number ahead (k..0); absorbing: served, abandoned
        size = k + 1
        q = np.zeros((size + 2, size + 2))
        for idx in range(size):
            j = k - idx
            q[idx, idx] = -(agents * mu + j * theta + theta)
            if j > 0:
                q[idx, idx + 1] = agents * mu + j * theta
            else:
                q[idx, size] = agents * mu  # service starts
            q[idx, size + 1] = theta  # own abandonment
        t_mat = expm(q * threshold_s)
        sl += pk * t_mat[0, size]
        # expected wait to service, for ASA: from the fundamental matrix of the transient part
        sub = q[:size, :size]
        n_mat = np.linalg.inv(-sub)
        time_weighted = (n_mat @ n_mat)[0] @ q[:size, size]
        wait_sum += pk * time_weighted
    answered = 1 - p_abandon
    asa = wait_sum / answered if answered > 0 else math.inf
    return ErlangAResult(agents, traffic, p_wait, p_abandon, min(sl, 1.0), asa, occupancy)


def required_agents_a(
    arrival_rate_s: float, aht_s: float, patience_s: float, target_sl: float, threshold_s: float
) -> ErlangAResult:
    """Smallest N whose Erlang A service level (answered within T / offered) meets the target."""
    n = 1
    while True:
        r = erlang_a_metrics(n, arrival_rate_s, aht_s, patience_s, threshold_s)
        if r.service_level >= target_sl or n > 10_000:
            return r
        n += 1
