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
        # kept size the sum below (_served_within), so a loose cap made busy intervals slower for nothing.
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

    The absorbing chain (ahead j -> j - 1 at rate r_j, j = 0 -> served, own abandonment at theta)
    solved by uniformization: with L = max_j r_j + theta, the chain jumps at Poisson(L t) times,
    each jump a step of the discrete chain I + G/L, so u_j(t) = sum_n Poisson(n; L t) w_n[j] with
    w_n[j] = P(served after n steps from j). Exact up to the Poisson tail left out (below 1e-20).
    Its ~L t steps replace an RK4 that needed 4 L t steps of 4 evaluations and erred by ~1e-9.
    """
    if t_end <= 0:
        return np.zeros_like(stage)
    rate = float(stage.max()) + theta
    mean = rate * t_end
    keep, move = 1 - (stage + theta) / rate, stage / rate
    w, u = np.zeros_like(stage), np.zeros_like(stage)
    log_weight, log_mean = -mean, math.log(mean)
    for n in range(1, _poisson_terms(mean) + 1):
        w = keep * w + move * np.concatenate(([1.0], w[:-1]))
        log_weight += log_mean - math.log(n)
        u += math.exp(log_weight) * w
    return u


def _poisson_terms(mean):
    """Terms of a Poisson(mean) sum whose tail beyond is negligible (10 sd past the mean, +20)."""
    return np.ceil(mean + 10 * np.sqrt(mean) + 20).astype(np.int64)


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


# ----------------------------------------------------------------------------------------------
# Many intervals at once (the agg_staffing_interval model). Same formulas as the scalar functions
# above, evaluated with numpy over arrays of intervals, so a year of queue x interval rows costs a
# few matrix passes instead of one Python loop per interval. tests/dbt/test_staffing_erlang_many.py
# compares them with the scalar functions.


@dataclass(frozen=True)
class ErlangCMany:
    agents: np.ndarray
    p_wait: np.ndarray
    service_level: np.ndarray
    asa_s: np.ndarray
    occupancy: np.ndarray


def required_agents_c_many(traffic, aht_s, target_sl, threshold_s) -> ErlangCMany:
    """`required_agents_c` (SL target only) for arrays of intervals.

    Walks N upward for every row at once, carrying each row's Erlang B recurrence; a row is
    settled at its first N > A meeting the target. Rows without traffic get N = 0, SL 1.
    """
    traffic, aht_s, target_sl, threshold_s = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (traffic, aht_s, target_sl, threshold_s))
    )
    rows = traffic.shape[0]
    agents = np.zeros(rows, dtype=np.int64)
    p_wait = np.zeros(rows)
    sl = np.ones(rows)
    asa = np.zeros(rows)
    occ = np.zeros(rows)
    open_rows = np.flatnonzero(traffic > 0)
    a, aht, target, threshold = (
        traffic[open_rows],
        aht_s[open_rows],
        target_sl[open_rows],
        threshold_s[open_rows],
    )
    b = np.ones(len(open_rows))
    n = 0
    while len(open_rows):
        n += 1
        b = a * b / (n + a * b)
        stable = n > a
        c = b / (1 - a / n * (1 - b))
        with np.errstate(over="ignore", invalid="ignore"):
            row_sl = 1 - c * np.exp(-(n - a) * threshold / aht)
        done = stable & (row_sl >= target)
        if done.any():
            idx = open_rows[done]
            agents[idx] = n
            p_wait[idx] = c[done]
            sl[idx] = row_sl[done]
            asa[idx] = c[done] * aht[done] / (n - a[done])
            occ[idx] = a[done] / n
            keep = ~done
            open_rows, a, aht, target, threshold, b = (
                x[keep] for x in (open_rows, a, aht, target, threshold, b)
            )
    return ErlangCMany(agents, p_wait, sl, asa, occ)


def erlang_a_service_many(agents, arrival_rate_s, aht_s, patience_s, threshold_s, batch: int = 2048):
    """(service_level, p_abandon) of `erlang_a_metrics` for arrays of (N, lambda, AHT, patience, T).

    The stationary distribution is a cumulative sum over a padded matrix (same truncation rule),
    and the uniformization sum of `_served_within` runs over a matrix of rows.
    """
    agents, lam, aht, patience, t_end = np.broadcast_arrays(
        np.asarray(agents, dtype=np.int64),
        *(np.asarray(x, dtype=float) for x in (arrival_rate_s, aht_s, patience_s, threshold_s)),
    )
    sl = np.ones(len(agents))
    p_abandon = np.zeros(len(agents))
    busy_rows = np.flatnonzero(lam > 0)
    order = busy_rows[np.argsort(lam[busy_rows] * aht[busy_rows], kind="stable")]  # similar widths together
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        sl[idx], p_abandon[idx] = _erlang_a_batch(agents[idx], lam[idx], aht[idx], patience[idx], t_end[idx])
    return sl, p_abandon


def _erlang_a_batch(agents, lam, aht, patience, t_end):
    mu, theta = 1 / aht, 1 / patience
    traffic = lam * aht
    full_cap = agents + (50 + 10 * traffic).astype(np.int64)
    width = int(full_cap.max()) + 1
    n = np.arange(width)
    ag, mu_, th = agents[:, None], mu[:, None], theta[:, None]
    death = np.minimum(n, ag) * mu_ + np.maximum(n - ag, 0) * th
    with np.errstate(divide="ignore"):
        step = np.log(lam)[:, None] - np.log(death)
    step[:, 0] = 0.0
    logp = np.cumsum(step, axis=1)
    top = np.maximum.accumulate(np.maximum(logp, 0.0), axis=1)
    # truncation of erlang_a_metrics: the first n past N where terms shrink below e^-45 of the peak
    stop = (n > ag) & (step < 0) & (logp < top - NEGLIGIBLE_LOG_P) & (n <= full_cap[:, None])
    cap = np.where(stop.any(axis=1), stop.argmax(axis=1), full_cap)
    kept = n <= cap[:, None]
    logp = np.where(kept, logp, -np.inf)
    p = np.exp(logp - logp.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    served_rate = (np.minimum(n, ag) * mu_ * p).sum(axis=1)
    p_abandon = np.maximum(0.0, 1 - served_rate / lam)

    size = cap - agents + 1  # an arrival may find j = 0..size-1 callers ahead
    j = np.arange(int(size.max()))
    stage = ag * mu_ + j * th
    waiting = np.take_along_axis(p, np.minimum(ag + j, width - 1), axis=1) * (j < size[:, None])
    served_by_t = _served_within_many(stage, theta, t_end, size)
    sl = np.where(n < ag, p, 0.0).sum(axis=1) + (waiting * served_by_t).sum(axis=1)
    return np.minimum(sl, 1.0), p_abandon


def _served_within_many(stage, theta, t_end, size):
    """`_served_within` for every row of `stage` (columns past a row's size are ignored padding).

    Rows are sorted by their number of terms, so each step only touches the rows still summing,
    and the same operations as the scalar loop run in place on preallocated buffers."""
    rows = np.arange(len(size))
    rate = stage[rows, size - 1] + theta  # the row's fastest stage (stage grows with j)
    mean = rate * t_end
    terms = np.where(t_end > 0, _poisson_terms(mean), 0)
    order = np.argsort(-terms, kind="stable")
    stage, theta, mean, size, terms, rate = (x[order] for x in (stage, theta, mean, size, terms, rate))
    real = np.arange(stage.shape[1]) < size[:, None]  # padding stays 0 (keep = move = 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = np.where(real, 1 - (stage + theta[:, None]) / rate[:, None], 0.0)
        move = np.where(real, stage / rate[:, None], 0.0)
        log_mean = np.where(mean > 0, np.log(mean), 0.0)
    log_weight = -mean
    widest = np.maximum.accumulate(size)  # columns needed by the first k rows (sorted by terms)
    w, u, ahead = np.zeros_like(stage), np.zeros_like(stage), np.empty_like(stage)
    active = len(terms)
    for n in range(1, int(terms.max(initial=0)) + 1):
        while active and terms[active - 1] < n:
            active -= 1
        cut = (slice(0, active), slice(0, int(widest[active - 1])))
        v, a = w[cut], ahead[cut]
        a[:, 0] = 1.0
        a[:, 1:] = v[:, :-1]
        # w = keep * w + move * ahead, in the scalar loop's order
        np.multiply(move[cut], a, out=a)
        np.multiply(keep[cut], v, out=v)
        np.add(v, a, out=v)
        log_weight[:active] += log_mean[:active] - math.log(n)
        np.add(u[cut], np.multiply(np.exp(log_weight[:active])[:, None], v, out=a), out=u[cut])
    out = np.empty_like(u)
    out[order] = u
    return out


def required_agents_a_many(arrival_rate_s, aht_s, patience_s, target_sl, threshold_s, start_agents, window=2):
    """Smallest N >= 1 whose Erlang A service level meets the target, for arrays of intervals.

    Like `required_agents_a`, a row starts from `start_agents` (Erlang C's N) and relies on SL
    growing with N. Abandonment usually saves one or two agents, so the first round probes N - 1
    and N - 2; each round probes, for every unsettled row in one matrix pass, the `window` next
    candidates downward while they meet the target, or the next one upward while they miss it.
    Returns (agents, p_abandon at those agents).
    """
    lam, aht, patience, target, threshold = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (arrival_rate_s, aht_s, patience_s, target_sl, threshold_s))
    )
    start = np.maximum(1, np.asarray(start_agents, dtype=np.int64))
    rows = len(lam)
    fails_at = np.zeros(rows, dtype=np.int64)  # largest N known to miss (0: none)
    meets_at = np.full(rows, -1, dtype=np.int64)  # smallest N known to meet (-1: none yet)
    p_abandon = np.full(rows, np.nan)
    open_rows = np.arange(rows)
    while len(open_rows):
        lo, hi = fails_at[open_rows], meets_at[open_rows]
        first = np.where(hi > 0, hi - 1, np.where(lo > 0, lo + 1, np.maximum(1, start[open_rows] - 1)))
        upward = (hi < 0) & (lo > 0)
        probes = first[:, None] + np.where(upward, 1, -1)[:, None] * np.arange(window)
        useful = (probes > lo[:, None]) & ((hi[:, None] < 0) | (probes < hi[:, None])) & (probes <= 10_000)
        useful[upward, 1:] = False
        r, k = np.nonzero(useful)
        row = open_rows[r]
        n = probes[r, k]
        sl, p_ab = erlang_a_service_many(n, lam[row], aht[row], patience[row], threshold[row])
        ok = sl >= target[row]
        # fold the probes into each row's bracket: lowest meeting N, highest missing N
        for sel, target_n in ((ok, meets_at), (~ok, fails_at)):
            rr, nn, pp = row[sel], n[sel], p_ab[sel]
            if not len(rr):
                continue
            if target_n is meets_at:
                better = np.lexsort((nn, rr))  # per row, the smallest N first
                rr, nn, pp = rr[better], nn[better], pp[better]
                first_of_row = np.r_[True, rr[1:] != rr[:-1]]
                rr, nn, pp = rr[first_of_row], nn[first_of_row], pp[first_of_row]
                improve = (meets_at[rr] < 0) | (nn < meets_at[rr])
                meets_at[rr[improve]] = nn[improve]
                p_abandon[rr[improve]] = pp[improve]
            else:
                np.maximum.at(fails_at, rr, nn)
        settled = (meets_at[open_rows] > 0) & (meets_at[open_rows] == fails_at[open_rows] + 1)
        stuck = (meets_at[open_rows] < 0) & (fails_at[open_rows] >= 10_000)
        open_rows = open_rows[~(settled | stuck)]
    return meets_at, p_abandon
