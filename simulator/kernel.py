"""The per-call queueing recursion, compiled (numba) over flat arrays.

One call at a time in arrival order: the caller's queue offers the agent who is free first
(array binary heap keyed by (free time, agent), unique because an agent sits once in each heap
of their skills); stale keys — the agent is busy in another queue, or outside an availability
window — are fixed lazily. What the caller does next (transfer, repeat call, call-back after giving
up) goes into a second heap keyed by (time, serial). ``run_calls`` returns early when it needs more
output room or more pre-drawn attributes for call-backs; the caller refills and calls again, so a
chunk gives the same result however often it was resumed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

ANSWERED, ABANDONED, TIMEOUT, EXIT_KEY, OVERFLOW, TRANSFERRED = range(6)
KIND_NEW, KIND_TRANSFER, KIND_REPEAT = 0, 1, 2
EMPTY_GAP_S = 3600  # no agent free within an hour: the queue is closed, callers exit (EXITEMPTY)
INF = 2**62

# integer attribute rows (``ai``) and float rows (``af``) of the pre-drawn per-call behaviour
I_PATIENCE, I_RING, I_TALK, I_HOLD, I_ACW, I_RESOLVED, I_XFER = range(7)
F_U1, F_U2, F_U3 = range(3)
INT_ATTRS = ("patience", "ring", "talk", "hold", "acw", "resolved", "xfer_slot")
FLOAT_ATTRS = ("u1", "u2", "u3")

DONE, NEED_OUTPUT, NEED_POOL = 0, 1, 2
# cursor slots kept between calls
C_I, C_ROW, C_SERIAL, C_CSEQ, C_PN, C_NEED_Q = range(6)
# output columns
O_Q, O_T, O_CALLER, O_SEQ, O_KIND, O_CONTACT, O_AGENT, O_ANSWER, O_END, O_OUTCOME, O_SRC = range(11)
N_OUT = 11
# pending-heap payload columns (key = when, serial)
P_WHEN, P_SERIAL, P_Q, P_CALLER, P_CONTACT, P_SEQ, P_KIND = range(7)
N_PENDING = 7


@njit(cache=True, inline="always")
def _less2(t1, a1, t2, a2):
    return t1 < t2 or (t1 == t2 and a1 < a2)


@njit(cache=True)
def _sift_down(ht, ha, qi, n, pos):
    """Move heap[pos] down to its place (heapq's _siftup + _siftdown; same min at the top)."""
    t, a = ht[qi, pos], ha[qi, pos]
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        right = child + 1
        if right < n and _less2(ht[qi, right], ha[qi, right], ht[qi, child], ha[qi, child]):
            child = right
        if not _less2(ht[qi, child], ha[qi, child], t, a):
            break
        ht[qi, pos], ha[qi, pos] = ht[qi, child], ha[qi, child]
        pos = child
    ht[qi, pos], ha[qi, pos] = t, a


@njit(cache=True)
def agent_heap_replace(ht, ha, hn, qi, t, a):
    ht[qi, 0], ha[qi, 0] = t, a
    _sift_down(ht, ha, qi, hn[qi], 0)


@njit(cache=True)
def agent_heap_pop(ht, ha, hn, qi):
    n = hn[qi] - 1
    hn[qi] = n
    if n > 0:
        ht[qi, 0], ha[qi, 0] = ht[qi, n], ha[qi, n]
        _sift_down(ht, ha, qi, n, 0)


@njit(cache=True)
def heapify_agents(ht, ha, hn):
    for qi in range(ht.shape[0]):
        for pos in range(hn[qi] // 2 - 1, -1, -1):
            _sift_down(ht, ha, qi, hn[qi], pos)


@njit(cache=True, inline="always")
def _p_less(p, i, j):
    return p[i, P_WHEN] < p[j, P_WHEN] or (p[i, P_WHEN] == p[j, P_WHEN] and p[i, P_SERIAL] < p[j, P_SERIAL])


@njit(cache=True)
def _p_swap(p, i, j):
    for k in range(N_PENDING):
        p[i, k], p[j, k] = p[j, k], p[i, k]


@njit(cache=True)
def pending_push(p, n, when, serial, qi, caller, contact, seq, kind):
    p[n, P_WHEN], p[n, P_SERIAL], p[n, P_Q], p[n, P_CALLER] = when, serial, qi, caller
    p[n, P_CONTACT], p[n, P_SEQ], p[n, P_KIND] = contact, seq, kind
    pos = n
    while pos > 0:
        parent = (pos - 1) // 2
        if _p_less(p, pos, parent):
            _p_swap(p, pos, parent)
            pos = parent
        else:
            break
    return n + 1


@njit(cache=True)
def pending_pop(p, n):
    """Remove the top (its payload is copied to row ``n - 1``, which is returned)."""
    n -= 1
    _p_swap(p, 0, n)
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        right = child + 1
        if right < n and _p_less(p, right, child):
            child = right
        if _p_less(p, child, pos):
            _p_swap(p, pos, child)
            pos = child
        else:
            break
    return n


@njit(cache=True, inline="always")
def _daytime(t, utc_offset, u):
    """People call back in waking hours: a call-back due at night moves to the next morning (08:00-10:00)."""
    local = (t + utc_offset) % 86400
    if local < 8 * 3600:
        return t + 8 * 3600 - local + int(u * 7200)
    if local >= 22 * 3600:
        return t + 86400 - local + 8 * 3600 + int(u * 7200)
    return t


@njit(cache=True, nogil=True)
def run_calls(
    t_new, q_new, c_new, new_ai, new_af,
    pool_ai, pool_af, pool_base, pool_len, pool_next,
    ht, ha, hn, free_at, ws, we, wb,
    pend, out, cur,
    t_end, timeout, xfer_tab, complaints_q, utc_offset,
):  # fmt: skip
    """Serve the chunk's calls in time order; see the module docstring. Returns DONE or what it needs."""
    n_new = len(t_new)
    cap = out.shape[0]
    i, row, serial, cseq, pn = cur[C_I], cur[C_ROW], cur[C_SERIAL], cur[C_CSEQ], cur[C_PN]
    status = DONE
    while True:
        if row + 1 >= cap:
            status = NEED_OUTPUT
            break
        from_pending = pn > 0 and pend[0, P_WHEN] < t_end and (i >= n_new or pend[0, P_WHEN] < t_new[i])
        if from_pending:
            qi = pend[0, P_Q]
            if pool_next[qi] - pool_base[qi] >= pool_len[qi]:
                cur[C_NEED_Q] = qi
                status = NEED_POOL
                break
            pn = pending_pop(pend, pn)
            t, caller = pend[pn, P_WHEN], pend[pn, P_CALLER]
            contact, seq, kind = pend[pn, P_CONTACT], pend[pn, P_SEQ], pend[pn, P_KIND]
            j = pool_next[qi] - pool_base[qi]
            src = -1 - pool_next[qi]  # negative: a pool row (global index -src-1)
            pool_next[qi] += 1
            patience, ring = pool_ai[qi, I_PATIENCE, j], pool_ai[qi, I_RING, j]
            talk, hold, acw = pool_ai[qi, I_TALK, j], pool_ai[qi, I_HOLD, j], pool_ai[qi, I_ACW, j]
            resolved, xslot = pool_ai[qi, I_RESOLVED, j], pool_ai[qi, I_XFER, j]
            u1, u2, u3 = pool_af[qi, F_U1, j], pool_af[qi, F_U2, j], pool_af[qi, F_U3, j]
        elif i < n_new:
            t, qi, caller = t_new[i], q_new[i], c_new[i]
            cseq += 1
            contact, seq, kind = cseq, 1, KIND_NEW
            src = i
            patience, ring = new_ai[I_PATIENCE, i], new_ai[I_RING, i]
            talk, hold, acw = new_ai[I_TALK, i], new_ai[I_HOLD, i], new_ai[I_ACW, i]
            resolved, xslot = new_ai[I_RESOLVED, i], new_ai[I_XFER, i]
            u1, u2, u3 = new_af[F_U1, i], new_af[F_U2, i], new_af[F_U3, i]
            i += 1
        else:
            break
        row += 1
        s = INF
        ag = -1
        while hn[qi] > 0:
            f, ag = ht[qi, 0], ha[qi, 0]
            target = f if f > t else t
            fa = free_at[ag]
            s = fa if fa > target else target
            # bisect_right over the agent's availability windows
            lo, hi = wb[ag], wb[ag + 1]
            a0 = lo
            while lo < hi:
                mid = (lo + hi) // 2
                if s < ws[mid]:
                    hi = mid
                else:
                    lo = mid + 1
            w = lo - 1
            if w < a0 or s >= we[w]:
                if w + 1 < wb[ag + 1]:
                    agent_heap_replace(ht, ha, hn, qi, ws[w + 1], ag)
                else:
                    agent_heap_pop(ht, ha, hn, qi)
                s = INF
                continue
            if s > target:
                agent_heap_replace(ht, ha, hn, qi, s, ag)
                continue
            break
        if s >= INF or s - t > EMPTY_GAP_S:
            outcome, agent, answer, end = OVERFLOW, -1, -1, t + 2
        else:
            answer = s + ring
            limit = timeout[qi]
            if answer - t > patience or answer - t > limit:
                agent = -1
                if patience <= limit:
                    end = t + patience
                    outcome = EXIT_KEY if patience > 45 and u1 < 0.08 else ABANDONED
                else:
                    end, outcome = t + limit, TIMEOUT
                answer = -1
            else:
                agent = ag
                end = answer + talk + hold
                busy = end + acw
                free_at[ag] = busy
                agent_heap_replace(ht, ha, hn, qi, busy, ag)
                outcome = TRANSFERRED if xslot >= 0 else ANSWERED
        out[row, O_Q], out[row, O_T], out[row, O_CALLER], out[row, O_SEQ] = qi, t, caller, seq
        out[row, O_KIND], out[row, O_CONTACT], out[row, O_AGENT] = kind, contact, agent
        out[row, O_ANSWER], out[row, O_END], out[row, O_OUTCOME], out[row, O_SRC] = answer, end, outcome, src
        # what the caller does next
        serial += 1
        if outcome == TRANSFERRED:
            pn = pending_push(
                pend, pn, end + 2, serial, xfer_tab[qi, xslot], caller, contact, seq + 1, KIND_TRANSFER
            )
        elif outcome == ANSWERED:
            if u2 < 0.7:
                if resolved == 0 or u2 < 0.06:
                    if resolved != 0:
                        delay = 600 + int(u3 * 10 * 86400)
                        next_q = qi
                    else:
                        delay = 600 + int(86400 * 1.2 * -math.log(u3 if u3 > 1e-9 else 1e-9))
                        next_q = complaints_q[qi] if u3 < 0.15 else qi
                    cseq += 1
                    when = _daytime(end + delay, utc_offset[next_q], u3)
                    pn = pending_push(pend, pn, when, serial, next_q, caller, cseq, 1, KIND_REPEAT)
        elif u2 < (0.3 if end - t < 5 else 0.5):  # call back after giving up
            delay = 60 + int(1800 * -math.log(u3 if u3 > 1e-9 else 1e-9))
            cseq += 1
            when = _daytime(end + delay, utc_offset[qi], u3)
            pn = pending_push(pend, pn, when, serial, qi, caller, cseq, 1, KIND_REPEAT)
    cur[C_I], cur[C_ROW], cur[C_SERIAL], cur[C_CSEQ], cur[C_PN] = i, row, serial, cseq, pn
    return status


def empty_pending(capacity: int) -> np.ndarray:
    return np.zeros((max(capacity, 16), N_PENDING), dtype=np.int64)
