"""Demand and queueing: arrivals per queue, FCFS multi-skill queues with impatient callers.

Service level emerges from the queueing: each queue keeps a heap of its agents keyed by the time
they are next free; a caller is served by the first agent free (longest idle first) unless the
caller's patience or the queue timeout runs out first. Agents are free only inside their
availability windows (logged in, not on a break) and only when not busy in another of their
queues (multi-skill agents sit in several heaps; stale keys are fixed lazily). This is the
Kiefer-Wolfowitz recursion with abandonment, one heap operation per call, so 10M calls stay in
reach of a Python loop. Transfers, call-backs after abandoning and repeat calls after an
unresolved contact are fed back as future arrivals.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from simulator.center import Center, intraday_profile
from simulator.config import Queue

OUTCOMES = ("answered", "abandoned", "timeout", "exit_key", "overflow", "transferred_out")
ANSWERED, ABANDONED, TIMEOUT, EXIT_KEY, OVERFLOW, TRANSFERRED = range(6)
KIND_NEW, KIND_TRANSFER, KIND_REPEAT = 0, 1, 2
PROMO_DAYS = {(3, 8), (6, 18), (11, 11), (12, 12)}  # e-commerce promotion days (and the 18th: member day)
EMPTY_GAP_S = 3600  # no agent free within an hour: the queue is closed, callers exit (EXITEMPTY)
BIN_S = 300
NEW_SHARE = 0.8  # of the configured volume; repeats and transfers make up the rest
INF = 2**62


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


class _Buffer:
    """Pre-drawn attributes for contacts created during the loop (transfers, repeats).

    ``take()`` hands out a running index; ``gather()`` turns the indices used in a chunk back into
    arrays and forgets blocks nobody can reference any more (bounded memory).
    """

    BLOCK = 4096

    def __init__(self, rng: np.random.Generator, q: Queue):
        self.rng, self.q = rng, q
        self.blocks: dict[int, dict[str, np.ndarray]] = {}
        self.next = 0
        self.data: dict[str, list] = {}
        self._refill()

    def _refill(self) -> None:
        block = draw_attributes(self.rng, self.q, self.BLOCK)
        self.blocks[self.next // self.BLOCK] = block
        self.data = {k: v.tolist() for k, v in block.items()}

    def take(self) -> int:
        """Index into ``self.data`` of a fresh row; its global index is ``self.next - 1``."""
        if self.next and self.next % self.BLOCK == 0:
            self._refill()
        self.next += 1
        return (self.next - 1) % self.BLOCK

    def gather(self, global_idx: np.ndarray) -> dict[str, np.ndarray]:
        block_no, offset = global_idx // self.BLOCK, global_idx % self.BLOCK
        out = {}
        for k in self.blocks[max(self.blocks)]:
            out[k] = np.empty(len(global_idx), dtype=self.blocks[max(self.blocks)][k].dtype)
            for bn in np.unique(block_no):
                m = block_no == bn
                out[k][m] = self.blocks[int(bn)][k][offset[m]]
        current = (self.next - 1) // self.BLOCK if self.next else 0
        for bn in [bn for bn in self.blocks if bn < current]:
            del self.blocks[bn]
        return out


@dataclass
class QueueState:
    """What survives from one day to the next: agent heaps, busy-until times, future arrivals."""

    heaps: list[list]
    free_at: list[int]
    pending: list = field(default_factory=list)
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
    heaps: list[list] = [[] for _ in center.queues]
    for ag in range(center.n):
        ws = center.windows_start[ag]
        j = bisect_right(ws, t_start)
        first = ws[0] if ws else INF
        if j > 0 and t_start < center.windows_end[ag][j - 1]:
            first = t_start
        elif j < len(ws):
            first = ws[j]
        if first >= INF:
            continue
        for qi in center.skills[ag]:
            heaps[qi].append((first, ag))
    for h in heaps:
        heapq.heapify(h)
    return QueueState(heaps=heaps, free_at=[0] * center.n)


def _daytime(t: int, utc_offset: int, u: float) -> int:
    """People call back in waking hours: a call-back due at night moves to the next morning (08:00-10:00)."""
    local = (t + utc_offset) % 86400
    if local < 8 * 3600:
        return t + 8 * 3600 - local + int(u * 7200)
    if local >= 22 * 3600:
        return t + 86400 - local + 8 * 3600 + int(u * 7200)
    return t


def simulate_chunk(
    center: Center,
    state: QueueState,
    arrivals: dict[str, np.ndarray],
    t_end: int,
    rng: np.random.Generator,
    buffers: list[_Buffer],
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
    new_cols = {k: v.tolist() for k, v in merged.items()}
    t_new, q_new, c_new = arrivals["t"].tolist(), arrivals["q"].tolist(), arrivals["caller"].tolist()
    xfer_targets = [
        [next(i for i, x in enumerate(queues) if x.code == c) for c in q.behaviour.transfer_targets]
        for q in queues
    ]
    complaints_q = {q.site: i for i, q in enumerate(queues) if q.code == "complaints"}
    timeout = [q.behaviour.timeout_s for q in queues]
    site_of = [q.site for q in queues]
    t_ref = pd.Timestamp(int(arrivals["t"][0]) if n_new else t_end, unit="s", tz="UTC")
    utc_offset = [int(t_ref.tz_convert(q.tz).utcoffset().total_seconds()) for q in queues]

    # per segment: where its attributes come from (new arrival index, or -1 and the dyn row)
    o_src, o_contact, o_agent, o_answer, o_end, o_outcome = [], [], [], [], [], []
    d_row, d_q, d_t, d_caller, d_seq, d_kind, d_gidx = [], [], [], [], [], [], []
    heaps, free_at, pending = state.heaps, state.free_at, state.pending
    WS, WE = center.windows_start, center.windows_end
    heappush, heappop, heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace
    log = math.log
    i = 0
    row = -1
    serial, cseq = state.serial, state.contact_seq  # locals: attribute access costs in this loop
    while True:
        if pending and pending[0][0] < t_end and (i >= n_new or pending[0][0] < t_new[i]):
            t, _, qi, caller, contact, seq, kind = heappop(pending)
            buf = buffers[qi]
            j = buf.take()
            a = buf.data
            row += 1
            o_src.append(-1)
            d_row.append(row)
            d_q.append(qi)
            d_t.append(t)
            d_caller.append(caller)
            d_seq.append(seq)
            d_kind.append(kind)
            d_gidx.append(buf.next - 1)
        elif i < n_new:
            t, qi, caller = t_new[i], q_new[i], c_new[i]
            cseq += 1
            contact, seq = cseq, 1
            a, j = new_cols, i
            row += 1
            o_src.append(i)
            i += 1
        else:
            break
        h = heaps[qi]
        s = INF
        ag = -1
        while h:
            f, ag = h[0]
            target = f if f > t else t
            fa = free_at[ag]
            s = fa if fa > target else target
            ws = WS[ag]
            w = bisect_right(ws, s) - 1
            if w < 0 or s >= WE[ag][w]:
                if w + 1 < len(ws):
                    heapreplace(h, (ws[w + 1], ag))
                else:
                    heappop(h)
                s = INF
                continue
            if s > target:
                heapreplace(h, (s, ag))
                continue
            break
        if s >= INF or s - t > EMPTY_GAP_S:
            outcome, agent, answer, end = OVERFLOW, -1, -1, t + 2
        else:
            patience = a["patience"][j]
            answer = s + a["ring"][j]
            limit = timeout[qi]
            if answer - t > patience or answer - t > limit:
                agent = -1
                if patience <= limit:
                    end = t + patience
                    outcome = EXIT_KEY if patience > 45 and a["u1"][j] < 0.08 else ABANDONED
                else:
                    end, outcome = t + limit, TIMEOUT
                answer = -1
            else:
                agent = ag
                end = answer + a["talk"][j] + a["hold"][j]
                busy = end + a["acw"][j]
                free_at[ag] = busy
                heapreplace(h, (busy, ag))
                outcome = TRANSFERRED if a["xfer_slot"][j] >= 0 else ANSWERED
        o_contact.append(contact)
        o_agent.append(agent)
        o_answer.append(answer)
        o_end.append(end)
        o_outcome.append(outcome)
        # what the caller does next
        serial += 1
        if outcome == TRANSFERRED:
            target_q = xfer_targets[qi][a["xfer_slot"][j]]
            heappush(pending, (end + 2, serial, target_q, caller, contact, seq + 1, KIND_TRANSFER))
        elif outcome == ANSWERED:
            u2 = a["u2"][j]
            if u2 < 0.7:
                resolved = a["resolved"][j]
                if not resolved or u2 < 0.06:
                    u3 = a["u3"][j]
                    if resolved:
                        delay = 600 + int(u3 * 10 * 86400)
                        next_q = qi
                    else:
                        delay = 600 + int(86400 * 1.2 * -log(u3 if u3 > 1e-9 else 1e-9))
                        next_q = complaints_q.get(site_of[qi], qi) if u3 < 0.15 else qi
                    cseq += 1
                    when = _daytime(end + delay, utc_offset[next_q], u3)
                    heappush(pending, (when, serial, next_q, caller, cseq, 1, KIND_REPEAT))
        elif a["u2"][j] < (0.3 if end - t < 5 else 0.5):  # call back after giving up
            u3 = a["u3"][j]
            delay = 60 + int(1800 * -log(u3 if u3 > 1e-9 else 1e-9))
            cseq += 1
            when = _daytime(end + delay, utc_offset[qi], u3)
            heappush(pending, (when, serial, qi, caller, cseq, 1, KIND_REPEAT))

    state.serial, state.contact_seq = serial, cseq
    src = np.array(o_src, dtype=np.int64)
    n = len(src)
    is_new = src >= 0
    seg = {
        "contact": np.array(o_contact, dtype=np.int64),
        "agent": np.array(o_agent, dtype=np.int64),
        "answer": np.array(o_answer, dtype=np.int64),
        "end": np.array(o_end, dtype=np.int64),
        "outcome": np.array(o_outcome, dtype=np.int64),
    }
    d_row_a = np.array(d_row, dtype=np.int64)
    for key, new_vals, dyn_vals in (
        ("q", arrivals["q"], d_q),
        ("t", arrivals["t"], d_t),
        ("caller", arrivals["caller"], d_caller),
        ("seq", np.ones(n_new, dtype=np.int64), d_seq),
        ("kind", np.full(n_new, KIND_NEW, dtype=np.int64), d_kind),
    ):
        col = np.empty(n, dtype=np.int64)
        col[is_new] = np.asarray(new_vals)[src[is_new]]
        col[d_row_a] = np.array(dyn_vals, dtype=np.int64)
        seg[key] = col
    d_q_a, d_gidx_a = np.array(d_q, dtype=np.int64), np.array(d_gidx, dtype=np.int64)
    for k, v in merged.items():
        col = np.empty(n, dtype=v.dtype)
        col[is_new] = v[src[is_new]]
        seg[k] = col
    for qi, buf in enumerate(buffers):
        m = d_q_a == qi
        if m.any():
            got = buf.gather(d_gidx_a[m])
            for k in merged:
                seg[k][d_row_a[m]] = got[k]
    answered = seg["agent"] >= 0
    for k in ("talk", "hold", "acw", "ring"):
        seg[k] = np.where(answered, seg[k], 0)
    seg["wait"] = np.where(answered, seg["answer"] - seg["t"], seg["end"] - seg["t"])
    seg["resolved"] = answered & seg["resolved"] & (seg["outcome"] != TRANSFERRED)
    table = np.full((len(queues), 4), -1, dtype=np.int64)
    for qi, targets in enumerate(xfer_targets):
        table[qi, : len(targets)] = targets
    seg["xfer_to"] = np.where(
        seg["outcome"] == TRANSFERRED, table[seg["q"], np.maximum(seg["xfer_slot"], 0)], -1
    )
    seg["xfer_attended"] = seg["xfer_attended"] & (seg["outcome"] == TRANSFERRED)
    seg["complaint"] = seg["complaint"] & answered
    return seg
