"""Demand and queueing: arrivals per queue, FCFS multi-skill queues with impatient callers.

Service level emerges from the queueing: each queue keeps a heap of its agents keyed by the time
they are next free; a caller is served by the first agent free (longest idle first) unless the
caller's patience or the queue timeout runs out first. Agents are free only inside their
availability windows (logged in, not on a break) and only when not busy in another of their
queues (multi-skill agents sit in several heaps; stale keys are fixed lazily). This is the
Kiefer-Wolfowitz recursion with abandonment, one heap operation per call, compiled with numba
(``simulator/kernel.py``; ~0.3 µs a call instead of ~8 µs in Python). Transfers, call-backs after
abandoning and repeat calls after an unresolved contact are fed back as future arrivals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from simulator import kernel
from simulator.center import Center, intraday_profile
from simulator.config import Queue
from simulator.kernel import (  # noqa: F401  (re-exported: the outcome codes belong to the engine's interface)
    ABANDONED,
    ANSWERED,
    EXIT_KEY,
    INF,
    KIND_NEW,
    KIND_REPEAT,
    KIND_TRANSFER,
    OVERFLOW,
    TIMEOUT,
    TRANSFERRED,
)

OUTCOMES = ("answered", "abandoned", "timeout", "exit_key", "overflow", "transferred_out")
PROMO_DAYS = {(3, 8), (6, 18), (11, 11), (12, 12)}  # e-commerce promotion days (and the 18th: member day)
BIN_S = 300
NEW_SHARE = 0.8  # of the configured volume; repeats and transfers make up the rest


def is_promo(d: date) -> bool:
    return (d.month, d.day) in PROMO_DAYS or d.day == 18


def day_factor(q: Queue, qi: int, d: date, seed: int) -> float:
    b = q.behaviour
    f = {5: b.weekend_factor[0], 6: b.weekend_factor[1]}.get(d.weekday(), 1.0)
    if d.weekday() == 0:
        f *= 1.08  # Monday catch-up
    if is_promo(d):
        f *= b.promo_factor
    noise = np.random.default_rng([seed, qi, d.toordinal()]).lognormal(0, 0.06)
    return f * noise


def draw_attributes(rng: np.random.Generator, q: Queue, n: int) -> dict[str, np.ndarray]:
    """Per-contact behaviour: patience, ring, talk, hold, ACW, resolution, complaint, transfer, disposition."""
    b = q.behaviour
    impatient = rng.random(n) < 0.05  # hang up within seconds (short abandons)
    patience = np.where(
        impatient, rng.exponential(6, n), b.patience_mean_s * rng.weibull(1.3, n) / 0.9235
    )  # Weibull(1.3) scaled to the mean
    talk = rng.lognormal(np.log(b.talk_median_s), b.talk_sigma, n)
    hold = np.where(rng.random(n) < b.hold_share, rng.lognormal(np.log(b.hold_median_s), 0.7, n), 0)
    acw = rng.lognormal(np.log(b.acw_median_s), 0.5, n)
    xfer = np.full(n, -1)
    if b.transfer_targets:
        go = rng.random(n) < b.transfer_p
        xfer = np.where(go, rng.integers(0, len(b.transfer_targets), n), -1)
    return {
        "patience": np.maximum(patience, 1).astype(np.int64),
        "ring": rng.integers(2, 9, n),
        "talk": np.maximum(talk, 8).astype(np.int64),
        "hold": hold.astype(np.int64),
        "acw": np.maximum(acw, 3).astype(np.int64),
        "resolved": rng.random(n) < b.resolve_p,
        "complaint": rng.random(n) < b.complaint_p,
        "xfer_slot": xfer,
        "xfer_attended": rng.random(n) < 0.4,
        "disp": rng.integers(0, len(b.dispositions), n),
        "u1": rng.random(n),
        "u2": rng.random(n),
        "u3": rng.random(n),
    }


class CallPool:
    """Pre-drawn behaviour for the calls created during the loop (transfers, repeats, call-backs).

    Per queue, rows are drawn in blocks of ``BLOCK`` from the queue's own stream and handed out in
    order, so a contact's behaviour does not depend on how often the compiled loop had to stop for
    more rows. Blocks no later call can use are forgotten at the end of each chunk (bounded memory).
    """

    BLOCK = 4096

    def __init__(self, rngs: list[np.random.Generator], queues: list[Queue]):
        self.rngs, self.queues = rngs, queues
        nq = len(queues)
        self.cols: list[dict[str, np.ndarray]] = [{} for _ in range(nq)]
        self.base = np.zeros(nq, dtype=np.int64)  # global row number of cols[qi][...][0]
        self.length = np.zeros(nq, dtype=np.int64)
        self.next = np.zeros(nq, dtype=np.int64)  # next row to hand out (global)
        for qi in range(nq):
            self._draw(qi, 1)
        self._pack()

    def _draw(self, qi: int, blocks: int) -> None:
        new = [draw_attributes(self.rngs[qi], self.queues[qi], self.BLOCK) for _ in range(blocks)]
        old = [self.cols[qi]] if self.length[qi] else []
        self.cols[qi] = {k: np.concatenate([b[k] for b in old + new]) for k in new[0]}
        self.length[qi] += blocks * self.BLOCK

    def _pack(self) -> None:
        width = int(self.length.max())
        self.ai = np.zeros((len(self.queues), len(kernel.INT_ATTRS), width), dtype=np.int64)
        self.af = np.zeros((len(self.queues), len(kernel.FLOAT_ATTRS), width), dtype=np.float64)
        for qi, cols in enumerate(self.cols):
            n = int(self.length[qi])
            for r, k in enumerate(kernel.INT_ATTRS):
                self.ai[qi, r, :n] = cols[k]
            for r, k in enumerate(kernel.FLOAT_ATTRS):
                self.af[qi, r, :n] = cols[k]

    def grow(self, qi: int) -> None:
        """Double the rows held for queue ``qi`` (the loop ran out of them)."""
        self._draw(qi, max(1, int(self.length[qi]) // self.BLOCK))
        self._pack()

    def gather(self, qi: int, global_idx: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v[global_idx - self.base[qi]] for k, v in self.cols[qi].items()}

    def trim(self) -> None:
        """Forget the blocks below the next row of every queue."""
        changed = False
        for qi in range(len(self.queues)):
            drop = (int(self.next[qi] - self.base[qi]) // self.BLOCK) * self.BLOCK
            if drop:
                self.cols[qi] = {k: v[drop:].copy() for k, v in self.cols[qi].items()}
                self.base[qi] += drop
                self.length[qi] -= drop
                changed = True
        if changed:
            self._pack()


@dataclass
class QueueState:
    """What survives from one day to the next: agent heaps, busy-until times, future arrivals."""

    heap_t: np.ndarray  # [queue, slot] key: when the agent is next free
    heap_a: np.ndarray  # [queue, slot] agent
    heap_n: np.ndarray  # [queue] heap size
    free_at: np.ndarray  # [agent] busy until
    pending: np.ndarray = field(default_factory=lambda: kernel.empty_pending(1024))
    pending_n: int = 0
    contact_seq: int = 0
    serial: int = 0


def chunk_bounds(start: date, index: int, tz_offset_s: int) -> tuple[int, int]:
    base = (start + timedelta(days=index) - date(1970, 1, 1)).days * 86400 - tz_offset_s
    return base, base + 86400


def new_arrivals(
    queues: list[Queue], t0: int, t1: int, scale: float, seed: int, rng: np.random.Generator, caller_pools
) -> dict[str, np.ndarray]:
    """Poisson arrivals in 5-minute bins with the intensity of each queue's local time."""
    bins = np.arange(t0, t1, BIN_S)
    parts = []
    for qi, q in enumerate(queues):
        local = pd.to_datetime(bins, unit="s", utc=True).tz_convert(q.tz)
        hours = local.hour + local.minute / 60 + 2.5 / 60
        factors = {d: day_factor(q, qi, d, seed) for d in set(local.date)}
        lam = (
            q.behaviour.weekday_volume
            * scale
            * NEW_SHARE
            * intraday_profile(hours.to_numpy())
            * np.array([factors[d] for d in local.date])
            * BIN_S
            / 86400
        )
        if q.behaviour.open_hours:  # outside opening hours only a trickle calls (and meets EXITEMPTY)
            lo_h, hi_h = q.behaviour.open_hours
            lam = lam * np.where((hours >= lo_h) & (hours < hi_h), 1.0, 0.08)
        counts = rng.poisson(lam)
        t = np.repeat(bins, counts) + rng.integers(0, BIN_S, counts.sum())
        lo, hi = caller_pools[q.site]
        caller = rng.integers(lo, hi, len(t))
        parts.append((t, np.full(len(t), qi), caller))
    t = np.concatenate([p[0] for p in parts])
    qv = np.concatenate([p[1] for p in parts])
    caller = np.concatenate([p[2] for p in parts])
    order = np.lexsort((caller, qv, t))
    return {"t": t[order], "q": qv[order], "caller": caller[order]}


def init_state(center: Center, t_start: int) -> QueueState:
    nq = len(center.queues)
    heap_t = np.zeros((nq, max(center.n, 1)), dtype=np.int64)
    heap_a = np.zeros((nq, max(center.n, 1)), dtype=np.int64)
    heap_n = np.zeros(nq, dtype=np.int64)
    ws, we, wb = center.window_start, center.window_end, center.window_bounds
    for ag in range(center.n):
        lo, hi = int(wb[ag]), int(wb[ag + 1])
        j = lo + int(np.searchsorted(ws[lo:hi], t_start, side="right"))
        first = int(ws[lo]) if hi > lo else INF
        if j > lo and t_start < we[j - 1]:
            first = t_start
        elif j < hi:
            first = int(ws[j])
        if first >= INF:
            continue
        for qi in center.skills[ag]:
            heap_t[qi, heap_n[qi]], heap_a[qi, heap_n[qi]] = first, ag
            heap_n[qi] += 1
    kernel.heapify_agents(heap_t, heap_a, heap_n)
    return QueueState(heap_t, heap_a, heap_n, free_at=np.zeros(max(center.n, 1), dtype=np.int64))


def simulate_chunk(
    center: Center,
    state: QueueState,
    arrivals: dict[str, np.ndarray],
    t_end: int,
    rng: np.random.Generator,
    pool: CallPool,
) -> dict[str, np.ndarray]:
    """Run the queues over one chunk of time; returns one row per queue stint (segment)."""
    queues = center.queues
    n_new = len(arrivals["t"])
    # attributes of the chunk's new arrivals, drawn per queue (vectorised), scattered back in time order
    merged = {k: np.empty(n_new, dtype=v.dtype) for k, v in draw_attributes(rng, queues[0], 1).items()}
    for qi, q in enumerate(queues):
        m = arrivals["q"] == qi
        for k, v in draw_attributes(rng, q, int(m.sum())).items():
            merged[k][m] = v
    xfer_targets = [
        [next(i for i, x in enumerate(queues) if x.code == c) for c in q.behaviour.transfer_targets]
        for q in queues
    ]
    xfer_tab = np.full((len(queues), 4), -1, dtype=np.int64)
    for qi, targets in enumerate(xfer_targets):
        xfer_tab[qi, : len(targets)] = targets
    complaints_of_site = {q.site: i for i, q in enumerate(queues) if q.code == "complaints"}
    complaints_q = np.array([complaints_of_site.get(q.site, qi) for qi, q in enumerate(queues)], np.int64)
    timeout = np.array([q.behaviour.timeout_s for q in queues], dtype=np.int64)
    t_ref = pd.Timestamp(int(arrivals["t"][0]) if n_new else t_end, unit="s", tz="UTC")
    utc_offset = np.array(
        [int(t_ref.tz_convert(q.tz).utcoffset().total_seconds()) for q in queues], dtype=np.int64
    )
    new_ai = np.stack([merged[k].astype(np.int64) for k in kernel.INT_ATTRS])
    new_af = np.stack([merged[k].astype(np.float64) for k in kernel.FLOAT_ATTRS])
    t_new = np.ascontiguousarray(arrivals["t"], dtype=np.int64)
    q_new = np.ascontiguousarray(arrivals["q"], dtype=np.int64)
    c_new = np.ascontiguousarray(arrivals["caller"], dtype=np.int64)

    out = np.empty((int((n_new + state.pending_n) * 1.3) + 1024, kernel.N_OUT), dtype=np.int64)
    cur = np.array([0, -1, state.serial, state.contact_seq, state.pending_n, -1], dtype=np.int64)
    while True:
        room = int(cur[kernel.C_PN]) + out.shape[0] - int(cur[kernel.C_ROW])
        if state.pending.shape[0] < room:  # every call pushes at most one follow-up
            grown = kernel.empty_pending(2 * room)
            grown[: state.pending.shape[0]] = state.pending
            state.pending = grown
        status = kernel.run_calls(
            t_new, q_new, c_new, new_ai, new_af,
            pool.ai, pool.af, pool.base, pool.length, pool.next,
            state.heap_t, state.heap_a, state.heap_n, state.free_at,
            center.window_start, center.window_end, center.window_bounds,
            state.pending, out, cur,
            t_end, timeout, xfer_tab, complaints_q, utc_offset,
        )  # fmt: skip
        if status == kernel.NEED_OUTPUT:
            out = np.concatenate([out, np.empty_like(out)])
        elif status == kernel.NEED_POOL:
            pool.grow(int(cur[kernel.C_NEED_Q]))
        else:
            break
    state.serial, state.contact_seq = int(cur[kernel.C_SERIAL]), int(cur[kernel.C_CSEQ])
    state.pending_n = int(cur[kernel.C_PN])
    out = out[: int(cur[kernel.C_ROW]) + 1]
    n = len(out)
    src = out[:, kernel.O_SRC]
    is_new = src >= 0
    seg = {
        k: np.ascontiguousarray(out[:, col])
        for k, col in (
            ("contact", kernel.O_CONTACT), ("agent", kernel.O_AGENT), ("answer", kernel.O_ANSWER),
            ("end", kernel.O_END), ("outcome", kernel.O_OUTCOME), ("q", kernel.O_Q), ("t", kernel.O_T),
            ("caller", kernel.O_CALLER), ("seq", kernel.O_SEQ), ("kind", kernel.O_KIND),
        )
    }  # fmt: skip
    for k, v in merged.items():
        col = np.empty(n, dtype=v.dtype)
        col[is_new] = v[src[is_new]]
        seg[k] = col
    dyn = np.flatnonzero(~is_new)
    for qi in range(len(queues)):
        rows = dyn[seg["q"][dyn] == qi]
        if len(rows):
            for k, v in pool.gather(qi, -src[rows] - 1).items():
                seg[k][rows] = v
    pool.trim()
    answered = seg["agent"] >= 0
    for k in ("talk", "hold", "acw", "ring"):
        seg[k] = np.where(answered, seg[k], 0)
    seg["wait"] = np.where(answered, seg["answer"] - seg["t"], seg["end"] - seg["t"])
    seg["resolved"] = answered & seg["resolved"] & (seg["outcome"] != TRANSFERRED)
    seg["xfer_to"] = np.where(
        seg["outcome"] == TRANSFERRED, xfer_tab[seg["q"], np.maximum(seg["xfer_slot"], 0)], -1
    )
    seg["xfer_attended"] = seg["xfer_attended"] & (seg["outcome"] == TRANSFERRED)
    seg["complaint"] = seg["complaint"] & answered
    return seg
