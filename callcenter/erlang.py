"""Erlang C and Erlang A staffing math (METRICS.md, "Staffing (Erlang)").

One implementation used by `callcenter erlang` and by the `agg_staffing_interval` dbt model.
Traffic A = arrivals × AHT / interval length, in Erlangs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


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


NEGLIGIBLE_LOG_P = 45.0  # Erlang A state-space truncation: e^-45 ~ 3e-20 of the most likely state


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

    Stationary distribution of the birth-death chain (truncated where its tail is negligible).
    An arrival who finds j callers ahead moves through j+1 stages (rate N·mu + i·theta while i are
    ahead) while its own patience runs out at rate theta; SL = P(answered within T) over all
    arrivals (PASTA: arrivals see the stationary distribution).
    """
    lam, mu, theta = arrival_rate_s, 1 / aht_s, 1 / patience_s
    traffic = lam * aht_s
    if lam <= 0:
        return ErlangAResult(agents, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    cap = agents + int(50 + 10 * traffic)
    logp = [0.0]
    log_lam, top = math.log(lam), 0.0
    for n in range(1, cap + 1):
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        step = log_lam - math.log(death)
        logp.append(logp[-1] + step)
        top = max(top, logp[-1])
        # Past N the terms only shrink: stop once they are below e^-45 of the peak. The states
        # kept size the RK4 below, so a loose cap made busy intervals ~20x slower for nothing.
        if n > agents and step < 0 and logp[-1] < top - NEGLIGIBLE_LOG_P:
            break
    cap = len(logp) - 1
    p = np.exp(np.array(logp) - max(logp))
    p /= p.sum()
    p_wait = float(p[agents:].sum())
    busy = np.minimum(np.arange(cap + 1), agents)
    served_rate = float((busy * mu * p).sum())
    p_abandon = max(0.0, 1 - served_rate / lam)
    occupancy = served_rate / mu / agents if agents else 1.0

    size = cap - agents + 1  # an arrival may find j = 0..size-1 callers ahead
    # Stage rate while j are ahead (service or abandonment of one ahead); own patience races at theta.
    stage = agents * mu + np.arange(size) * theta
    # Exponential races: each stage is survived with P = r/(r+theta) and lasts 1/(r+theta) on
    # average whichever way it ends, so both sums are cumulative products / sums over stages.
    p_served = np.cumprod(stage / (stage + theta))
    wait_if_served = p_served * np.cumsum(1 / (stage + theta))  # E[W · 1{served}]
    served_by_t = _served_within(stage, theta, threshold_s)
    arrivals_waiting = p[agents : agents + size]
    sl = float(p[:agents].sum() + (arrivals_waiting * served_by_t).sum())
    answered = 1 - p_abandon
    asa = float((arrivals_waiting * wait_if_served).sum()) / answered if answered > 0 else math.inf
    return ErlangAResult(agents, traffic, p_wait, p_abandon, min(sl, 1.0), asa, occupancy)


def _served_within(stage: np.ndarray, theta: float, t_end: float) -> np.ndarray:
    """P(service starts within t_end, before own abandonment) for every number ahead j.

    Backward equations of the absorbing chain, u_j' = r_j (u_{j-1} - u_j) - theta u_j with
    u_{-1} = 1 and u(0) = 0, integrated by classical RK4 (vectorised over j; no matrix exponential,
    which is slow and thread-hungry on small shared machines).
    """
    if t_end <= 0:
        return np.zeros_like(stage)
    steps = max(50, int(np.ceil(t_end * (stage.max() + theta) * 4)))
    h = t_end / steps

    def deriv(u: np.ndarray) -> np.ndarray:
        ahead = np.concatenate(([1.0], u[:-1]))
        return stage * (ahead - u) - theta * u

    u = np.zeros_like(stage)
    for _ in range(steps):
        k1 = deriv(u)
        k2 = deriv(u + h / 2 * k1)
        k3 = deriv(u + h / 2 * k2)
        k4 = deriv(u + h * k3)
        u = u + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return u


def required_agents_a(
    arrival_rate_s: float, aht_s: float, patience_s: float, target_sl: float, threshold_s: float
) -> ErlangAResult:
    """Smallest N whose Erlang A service level (answered within T / offered) meets the target.

    Abandonment only shortens queues, so Erlang C's answer is an upper bound: walk down from it.
    """
    traffic = arrival_rate_s * aht_s
    best = erlang_a_metrics(
        required_agents_c(traffic, aht_s, target_sl, threshold_s).agents or 1,
        arrival_rate_s,
        aht_s,
        patience_s,
        threshold_s,
    )
    while best.agents > 1:
        lower = erlang_a_metrics(best.agents - 1, arrival_rate_s, aht_s, patience_s, threshold_s)
        if lower.service_level < target_sl:
            break
        best = lower
    return best
