"""Agent state intervals from sessions, not-ready windows and the calls each agent handled.

A session is emitted once it can no longer change (its logout is well before the end of the
simulated chunk), so night shifts crossing midnight stay one session. ``logged_in`` spans the
session; ``on_contact``, ``acw``, ``not_ready`` and ``available`` partition it. A break that
starts while the agent is still on a call starts when the call's ACW ends (as in real life).
"""

from __future__ import annotations

import numpy as np

from simulator.center import NR_REASONS, Center

SETTLE_S = 3 * 3600  # no call runs longer than this past a scheduled logout
# rows carry codes: ``state`` indexes STATE_NAMES, ``reason`` indexes NR_REASONS (-1 = none)
STATE_NAMES = ("logged_in", "available", "on_contact", "acw", "not_ready")
LOGGED_IN, AVAILABLE, ON_CONTACT, ACW, NOT_READY = range(5)


class StateBuilder:
    def __init__(self, center: Center):
        self.center = center
        ses = center.sessions
        order = np.lexsort((ses["login"], ses["agent"]))
        self.sess_order = order
        self.sess_key = ses["agent"][order].astype(np.int64) * 10**11 + ses["login"][order]
        self.emitted = np.zeros(len(ses["agent"]), dtype=bool)
        reason = np.asarray(center.not_ready["reason"], dtype=object)
        self.nr_reason = np.full(len(reason), -1, dtype=np.int64)
        for code, name in enumerate(NR_REASONS):
            self.nr_reason[reason == name] = code
        self.busy = {k: np.zeros(0, dtype=np.int64) for k in ("agent", "answer", "talk_end", "acw_end")}

    def add_calls(self, seg: dict[str, np.ndarray]) -> None:
        m = seg["agent"] >= 0
        talk_end = seg["answer"][m] + seg["talk"][m] + seg["hold"][m]
        new = {
            "agent": seg["agent"][m],
            "answer": seg["answer"][m],
            "talk_end": talk_end,
            "acw_end": talk_end + seg["acw"][m],
        }
        self.busy = {k: np.concatenate([self.busy[k], new[k]]) for k in self.busy}

    def _session_of(self, agent: np.ndarray, t: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.sess_key, agent.astype(np.int64) * 10**11 + t, side="right") - 1
        return self.sess_order[np.maximum(pos, 0)]

    def emit(self, until: int | None) -> dict[str, np.ndarray]:
        """State rows of the sessions finished before ``until`` (all remaining when None)."""
        ses, nr = self.center.sessions, self.center.not_ready
        ready = ~self.emitted & ((ses["logout"] + SETTLE_S < until) if until is not None else True)
        self.emitted |= ready
        b_sess = self._session_of(self.busy["agent"], self.busy["answer"])
        b_take = ready[b_sess] if len(b_sess) else np.zeros(0, bool)
        busy = {k: v[b_take] for k, v in self.busy.items()}
        b_sess = b_sess[b_take]
        self.busy = {k: v[~b_take] for k, v in self.busy.items()}

        n_take = ready[nr["session"]]
        nr_s, nr_e, nr_r, nr_sess = (
            nr["start"][n_take],
            nr["end"][n_take],
            self.nr_reason[n_take],
            nr["session"][n_take],
        )
        # a break waits for the call in progress: start it at the end of the last call begun before it
        if len(busy["answer"]):
            order = np.lexsort((busy["answer"], b_sess))
            key = b_sess[order].astype(np.int64) * 10**11 + busy["answer"][order]
            pos = np.searchsorted(key, nr_sess.astype(np.int64) * 10**11 + nr_s, side="right") - 1
            valid = pos >= 0
            pc = np.maximum(pos, 0)
            same = valid & (b_sess[order][pc] == nr_sess)
            nr_s = np.where(same, np.maximum(nr_s, busy["acw_end"][order][pc]), nr_s)
        keep = nr_e > nr_s
        nr_s, nr_e, nr_r, nr_sess = nr_s[keep], nr_e[keep], nr_r[keep], nr_sess[keep]

        sess_idx = np.flatnonzero(ready)
        login = ses["login"][sess_idx]
        logout = ses["logout"][sess_idx].copy()
        if len(b_sess):
            last = np.zeros(len(ses["login"]), dtype=np.int64)
            np.maximum.at(last, b_sess, busy["acw_end"])
            logout = np.maximum(logout, last[sess_idx])
        logout_of = np.zeros(len(ses["login"]), dtype=np.int64)
        logout_of[sess_idx] = logout

        has_acw = busy["acw_end"] > busy["talk_end"]
        parts = {
            "session": [b_sess, b_sess[has_acw], nr_sess],
            "start": [busy["answer"], busy["talk_end"][has_acw], nr_s],
            "end": [busy["talk_end"], busy["acw_end"][has_acw], nr_e],
            "state": [
                np.full(len(b_sess), ON_CONTACT, dtype=np.int64),
                np.full(int(has_acw.sum()), ACW, dtype=np.int64),
                np.full(len(nr_sess), NOT_READY, dtype=np.int64),
            ],
            "reason": [np.full(len(b_sess) + int(has_acw.sum()), -1, dtype=np.int64), nr_r],
        }
        p = {k: np.concatenate(v) for k, v in parts.items()}
        order = np.lexsort((p["start"], p["session"]))
        p = {k: v[order] for k, v in p.items()}
        # gaps inside the session are "available"
        if len(p["start"]):
            first = np.r_[True, p["session"][1:] != p["session"][:-1]]
            last_in = np.r_[p["session"][1:] != p["session"][:-1], True]
            prev_end = np.where(first, ses["login"][p["session"]], np.r_[0, p["end"][:-1]])
        else:
            last_in = np.zeros(0, bool)
            prev_end = np.zeros(0, dtype=np.int64)
        gap = p["start"] > prev_end
        tail_s = p["end"][last_in]
        tail_sess = p["session"][last_in]
        tail_e = logout_of[tail_sess]
        empty = np.setdiff1d(sess_idx, p["session"])  # sessions with no activity at all
        avail = {
            "session": np.concatenate([p["session"][gap], tail_sess, empty]),
            "start": np.concatenate([prev_end[gap], tail_s, ses["login"][empty]]),
            "end": np.concatenate([p["start"][gap], tail_e, logout_of[empty]]),
        }
        ok = avail["end"] > avail["start"]
        rows = {
            "session": np.concatenate([sess_idx, p["session"], avail["session"][ok]]),
            "start": np.concatenate([login, p["start"], avail["start"][ok]]),
            "end": np.concatenate([logout, p["end"], avail["end"][ok]]),
            "state": np.concatenate(
                [np.full(len(sess_idx), LOGGED_IN), p["state"], np.full(int(ok.sum()), AVAILABLE)]
            ).astype(np.int64),
            "reason": np.concatenate(
                [np.full(len(sess_idx), -1), p["reason"], np.full(int(ok.sum()), -1)]
            ).astype(np.int64),
        }
        rows["agent"] = ses["agent"][rows["session"]]
        order = np.lexsort((rows["start"], rows["agent"]))
        return {k: v[order] for k, v in rows.items()}
