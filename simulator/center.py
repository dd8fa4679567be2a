"""People and time: agents, teams, roster history, schedules and what agents actually did.

Everything is vectorised over agent-days (numpy), because ``--scale 100`` means ~20,000 agents.
Times are integer epoch seconds (UTC). Local wall-clock times are converted per site with the
offset in force at local noon of that date, which is exact for every shift here (London has no
night shift, and the DST switch happens at 01:00/02:00, before any London shift starts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from callcenter import erlang
from simulator.config import Queue

SHIFTS = {  # code: (start minute local, length minutes, paid work fraction of days in its pattern)
    "D8": (8 * 60, 12 * 60),
    "D9": (9 * 60, 12 * 60),
    "N20": (20 * 60, 12 * 60),
    "A9": (9 * 60, 9 * 60),
}
PATTERNS = {"D8": (1, 1, 0, 0), "D9": (1, 1, 0, 0), "N20": (1, 1, 0, 0), "A9": (1, 1, 1, 1, 1, 0, 0)}

# not-ready reasons (agent_states.reason) and their schedule activity labels
NR_REASONS = ("break", "lunch", "training", "meeting", "personal")
REASON_ACTIVITY = {"break": "小休", "lunch": "午餐", "training": "培训", "meeting": "会议"}

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉婷雪琳晶欣怡佳宇浩然子涵梓萱一诺雨桐思远嘉怡俊杰"
)
EN_FIRST = "Oliver George Harry Jack Amelia Olivia Isla Emily Sophie Grace Noah Leo Lily Freya Ella Mia Ava James Thomas Lucy".split()
EN_LAST = "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Wright Walker Evans Thompson Hughes Green Hall Wood Clarke".split()
TEAM_NUMERALS = "一二三四五六七八九十"
QUEUE_TEAM_PREFIX = {
    "presales": "售前",
    "aftersales": "售后",
    "complaints": "投诉",
    "tech_support": "技术",
    "intl_support": "国际",
}
QUEUE_PROJECTS = {
    "presales": ("电商项目", "金融项目"),
    "aftersales": ("电商项目", "通信项目"),
    "complaints": ("金融项目",),
    "tech_support": ("通信项目",),
    "intl_support": ("国际项目",),
}
TEAM_SIZE = 14


def intraday_profile(hours: np.ndarray) -> np.ndarray:
    """Relative arrival intensity by local hour: quiet nights, peaks near 10:00 and 15:00 (mean 1 over a day)."""
    h = np.asarray(hours, dtype=float)
    day = 1 / (1 + np.exp(-(h - 8.0) * 2.5)) / (1 + np.exp((h - 21.5) * 2.0))
    peaks = 1.0 * np.exp(-0.5 * ((h - 10.2) / 1.3) ** 2) + 0.8 * np.exp(-0.5 * ((h - 15.0) / 1.6) ** 2)
    raw = 0.03 + 0.5 * day + peaks * day
    grid = np.arange(0, 24, 1 / 12)
    norm = (
        0.03
        + 0.5 / (1 + np.exp(-(grid - 8.0) * 2.5)) / (1 + np.exp((grid - 21.5) * 2.0))
        + (1.0 * np.exp(-0.5 * ((grid - 10.2) / 1.3) ** 2) + 0.8 * np.exp(-0.5 * ((grid - 15.0) / 1.6) ** 2))
        / (1 + np.exp(-(grid - 8.0) * 2.5))
        / (1 + np.exp((grid - 21.5) * 2.0))
    ).mean()
    return raw / norm


def mean_handle_s(q: Queue) -> float:
    b = q.behaviour
    talk = b.talk_median_s * math.exp(b.talk_sigma**2 / 2)
    hold = b.hold_share * b.hold_median_s * math.exp(0.7**2 / 2)
    acw = b.acw_median_s * math.exp(0.5**2 / 2)
    return talk + hold + acw + 4  # + ring


@dataclass
class Center:
    """Agents (arrays indexed by agent number) plus their schedule and actual activity."""

    queues: list[Queue]
    agent_id: list[str]
    name: list[str]
    site: np.ndarray  # site code per agent (object)
    primary: np.ndarray  # queue index
    skills: list[tuple[int, ...]]
    shift: np.ndarray  # shift code (object)
    offset: np.ndarray  # pattern phase
    employment: np.ndarray  # full_time / temporary
    hire: list[date]
    end: list[date | None]
    gender: np.ndarray
    age_band: np.ndarray
    education: np.ndarray
    marital: np.ndarray
    team_history: list[dict[date, int]]  # export date -> team index
    teams: list[dict]  # name, supervisor, project_group, queue
    export_dates: list[date]
    # schedule (local) and actual activity, filled by plan_activity()
    schedule: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)
    not_ready: dict = field(default_factory=dict)
    # availability windows of all agents, flat and in time order per agent: agent a owns
    # [window_bounds[a], window_bounds[a + 1]) (the compiled queueing loop reads flat arrays)
    window_start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    window_end: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    window_bounds: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def n(self) -> int:
        return len(self.agent_id)

    def team_at(self, agent: int, day: date) -> int:
        hist = self.team_history[agent]
        current = None
        for d in sorted(hist):
            if d <= day:
                current = hist[d]
        return current if current is not None else hist[min(hist)]


def _agent_name(rng: np.random.Generator, site: str) -> str:
    if site == "lon":
        return f"{EN_FIRST[rng.integers(len(EN_FIRST))]} {EN_LAST[rng.integers(len(EN_LAST))]}"
    given = "".join(GIVEN[i] for i in rng.integers(len(GIVEN), size=int(rng.integers(1, 3))))
    return SURNAMES[rng.integers(len(SURNAMES))] + given


def staffing_by_shift(q: Queue, scale: float) -> dict[str, int]:
    """Headcount per shift so a typical weekday is roughly covered at 80/20 (Erlang C), a bit lean at peaks."""
    b = q.behaviour
    aht = mean_handle_s(q)
    hours = np.arange(24) + 0.5
    calls_per_hour = b.weekday_volume * scale * intraday_profile(hours) / 24
    need = np.array(
        [
            erlang.required_agents_c(c * aht / 3600, aht, 0.8, q.sl_threshold_s).agents if c > 0.05 else 0
            for c in calls_per_hour
        ]
    )
    if b.open_hours:
        lo, hi = b.open_hours
        d8 = max(need[lo], need[hi - 1], 1)
        return {"D8": d8, "D9": 0, "N20": 0, "A9": max(0, int(need[lo:hi].max()) - d8)}
    night = max(1, int(max(need[21:].max(), need[:8].max())))
    d8 = max(int(need[8]), int(need[19]), 1)
    d9 = max(0, int(need[20]) - night)
    a9 = max(0, int(need[9:18].max()) - d8 - d9)
    return {"N20": night, "D8": d8, "D9": d9, "A9": a9}


def lean_factor(scale: float) -> float:
    """Share of the Erlang head count actually hired: 0.78 up to scale 1, ~0.89 for big centers.

    Erlang's safety margin over the offered load shrinks relative to the load as a center grows,
    so the demo's fixed 22% cut pushed big centers below their load (35 days at scale 95: SL 54%,
    21% abandoned). The cut shrinks with 1/sqrt(scale) instead, calibrated on 10-day runs so big
    centers give about the demo's service: SL 82% / 78% / 75%, 10-12% abandoned, occupancy 60-64%
    at scale 10 / 30 / 95 (35 days at scale 96, promotion days included: SL 70%, 14% abandoned,
    occupancy ~72%). Scale <= 1 is unchanged.
    """
    return 0.902 - 0.122 / math.sqrt(max(scale, 1.0))


def build_center(
    queues: list[Queue], rng: np.random.Generator, scale: float, start: date, days: int
) -> Center:
    end_day = start + timedelta(days=days - 1)
    rows: list[tuple[int, str]] = []  # (primary queue, shift)
    for qi, q in enumerate(queues):
        for shift, on_duty in staffing_by_shift(q, scale).items():
            if on_duty <= 0:
                continue
            work_fraction = sum(PATTERNS[shift]) / len(PATTERNS[shift])
            # on-duty agents lose ~20% to breaks and absence; staffed lean, so peaks miss 80/20
            head = math.ceil(on_duty * 1.2 / work_fraction * lean_factor(scale))
            rows += [(qi, shift)] * head
    n = len(rows)
    primary = np.array([r[0] for r in rows])
    shift = np.array([r[1] for r in rows], dtype=object)
    site = np.array([queues[p].site for p in primary], dtype=object)
    # WFM balances rotations: within each queue and shift the pattern phases are spread evenly
    offset = np.zeros(n, dtype=int)
    for key in sorted(set(rows)):
        members = np.flatnonzero((primary == key[0]) & (shift == key[1]))
        phases = np.arange(len(members)) % len(PATTERNS[key[1]])
        offset[members] = phases[rng.permutation(len(members))]
    # multi-skilled agents: a second queue of the same site
    skills: list[tuple[int, ...]] = []
    second = rng.random(n) < 0.5
    for i in range(n):
        same_site = [j for j, q in enumerate(queues) if q.site == site[i] and j != primary[i]]
        if second[i] and same_site:
            skills.append((int(primary[i]), int(same_site[rng.integers(len(same_site))])))
        else:
            skills.append((int(primary[i]),))
    employment = np.where(rng.random(n) < 0.22, "temporary", "full_time").astype(object)
    # tenure bands at the span start: <6m, 6-12m, 1-3y, >3y (temporary staff skew short)
    band = np.where(
        employment == "temporary",
        rng.choice(4, size=n, p=[0.55, 0.3, 0.15, 0.0]),
        rng.choice(4, size=n, p=[0.18, 0.2, 0.37, 0.25]),
    )
    lo_days = np.array([7, 183, 366, 1096])[band]
    hi_days = np.array([182, 365, 1095, 3000])[band]
    tenure_days = (lo_days + rng.random(n) * (hi_days - lo_days)).astype(int)
    hire = [start - timedelta(days=int(t)) for t in tenure_days]
    end: list[date | None] = [None] * n
    # a few joiners during the span and a few temporary leavers
    if days >= 10:
        for i in np.flatnonzero(rng.random(n) < 0.03):
            hire[i] = start + timedelta(days=int(rng.integers(3, max(4, days - 3))))
        for i in np.flatnonzero((employment == "temporary") & (rng.random(n) < 0.12)):
            end[i] = start + timedelta(days=int(rng.integers(2, max(3, days - 2))))
    gender = np.where(rng.random(n) < 0.68, "female", "male").astype(object)
    age_band = np.array(["<25", "25-30", "31-35", "36+"], dtype=object)[
        np.clip(band + rng.choice([-1, 0, 0, 1], size=n), 0, 3)
    ]
    education = rng.choice(
        np.array(["high_school", "college", "bachelor", "master_plus"], dtype=object),
        size=n,
        p=[0.12, 0.48, 0.36, 0.04],
    )
    marital = np.where(
        age_band == "<25",
        "single",
        rng.choice(np.array(["single", "married", "other"], dtype=object), size=n, p=[0.4, 0.55, 0.05]),
    ).astype(object)
    # teams: per primary queue, TEAM_SIZE agents each, alternating the queue's project groups
    teams: list[dict] = []
    team_of = np.zeros(n, dtype=int)
    for qi, q in enumerate(queues):
        members = np.flatnonzero(primary == qi)
        members = members[rng.permutation(len(members))]
        n_teams = max(1, round(len(members) / TEAM_SIZE))
        for t in range(n_teams):
            projects = QUEUE_PROJECTS.get(q.code, ("综合项目",))
            numeral = TEAM_NUMERALS[t] if t < 10 else str(t + 1)
            teams.append(
                {
                    "name": f"{QUEUE_TEAM_PREFIX.get(q.code, q.name_zh)}{numeral}组",
                    "supervisor": _agent_name(rng, q.site),
                    "project_group": projects[t % len(projects)],
                    "queue": qi,
                }
            )
            team_of[members[t::n_teams]] = len(teams) - 1
    export_dates = sorted({start, start + timedelta(days=days // 2), end_day})
    team_history: list[dict[date, int]] = []
    by_queue = {qi: [t for t, tm in enumerate(teams) if tm["queue"] == qi] for qi in range(len(queues))}
    by_site = {s: [t for t, tm in enumerate(teams) if queues[tm["queue"]].site == s] for s in set(site)}
    for i in range(n):
        hist = {export_dates[0]: int(team_of[i])}
        current = int(team_of[i])
        for d in export_dates[1:]:
            sister = [t for t in by_queue[int(primary[i])] if t != current]
            if not sister:  # a one-team queue: moves go to another team of the site
                sister = [t for t in by_site[site[i]] if t != current]
            if sister and rng.random() < 0.06:  # re-organisation: moved to another team
                current = sister[rng.integers(len(sister))]
            hist[d] = current
        team_history.append(hist)
    names = [_agent_name(rng, s) for s in site]
    return Center(
        queues=queues,
        agent_id=[f"A{i + 1:04d}" for i in range(n)],
        name=names,
        site=site,
        primary=primary,
        skills=skills,
        shift=shift,
        offset=offset,
        employment=employment,
        hire=hire,
        end=end,
        gender=gender,
        age_band=age_band,
        education=education,
        marital=marital,
        team_history=team_history,
        teams=teams,
        export_dates=export_dates,
    )


def site_offsets(tz: str, first: date, n_dates: int) -> np.ndarray:
    """UTC offset (seconds) at local noon of each date from ``first``: one per date, +1 spare."""
    zone = ZoneInfo(tz)
    return np.array(
        [
            int(datetime.combine(first + timedelta(days=i), time(12), zone).utcoffset().total_seconds())
            for i in range(n_dates + 1)
        ]
    )


def local_to_epoch(first: date, offsets: np.ndarray, date_idx: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """Epoch seconds of a local wall-clock minute (may run past midnight) on date ``first + date_idx``."""
    base = (first - date(1970, 1, 1)).days * 86400
    day_shift = minute // 1440
    return base + (date_idx + day_shift) * 86400 + (minute % 1440) * 60 - offsets[date_idx + day_shift]


def plan_activity(center: Center, rng: np.random.Generator, start: date, days: int) -> None:
    """Schedules (what WFM planned) and sessions / not-ready windows (what agents actually did)."""
    first = start - timedelta(days=1)  # night shift of the day before covers the first morning
    n_dates = days + 1
    n = center.n
    agent = np.repeat(np.arange(n), n_dates)
    didx = np.tile(np.arange(n_dates), n)
    ordinal = first.toordinal() + didx
    shift = center.shift[agent]
    plen = np.where(shift == "A9", 7, 4)
    phase = (ordinal + center.offset[agent]) % plen
    on = np.where(plen == 7, phase < 5, phase < 2)
    hire_ord = np.array([h.toordinal() for h in center.hire])[agent]
    end_ord = np.array([(e.toordinal() if e else 10**7) for e in center.end])[agent]
    employed = (ordinal >= hire_ord) & (ordinal <= end_ord)
    working = on & employed
    leave = working & (rng.random(len(agent)) < 0.03)
    rest = ~on & employed

    start_min = np.array([SHIFTS[s][0] for s in shift])
    length = np.array([SHIFTS[s][1] for s in shift])
    offsets = {s: site_offsets(q_tz, first, n_dates) for s, q_tz in _site_tz(center).items()}
    site = center.site[agent]

    def to_epoch(minute: np.ndarray, rows: np.ndarray) -> np.ndarray:
        out = np.empty(rows.sum(), dtype=np.int64)
        for s, off in offsets.items():
            m = site[rows] == s
            out[m] = local_to_epoch(first, off, didx[rows][m], minute[m])
        return out

    # planned activities per working (non-leave) day: slots (offset from shift start, minutes, reason)
    work = working & ~leave
    w = np.flatnonzero(work)
    stagger = rng.choice([-30, -15, 0, 15, 30], size=len(w))
    is_a9 = shift[w] == "A9"
    slots = [
        (np.where(is_a9, 120, 150) + stagger, np.full(len(w), 15), "break", np.ones(len(w), bool)),
        (np.where(is_a9, 180, 300) + stagger, np.full(len(w), 60), "lunch", np.ones(len(w), bool)),
        (np.where(is_a9, 390, 540) + stagger, np.full(len(w), 15), "break", np.ones(len(w), bool)),
        (np.where(is_a9, 300, 420), np.full(len(w), 60), "training", rng.random(len(w)) < 0.04),
        (np.full(len(w), 30), np.full(len(w), 30), "meeting", rng.random(len(w)) < 0.04),
    ]
    sched_rows = {
        "agent": [agent[w], agent[leave], agent[rest]],
        "didx": [didx[w], didx[leave], didx[rest]],
        "shift_code": [shift[w], shift[leave], np.full(rest.sum(), "休", dtype=object)],
        "start_min": [start_min[w], start_min[leave], np.zeros(rest.sum(), int)],
        "end_min": [start_min[w] + length[w], start_min[leave] + length[leave], np.full(rest.sum(), 1440)],
        "activity": [
            np.full(len(w), "上班", dtype=object),
            np.full(leave.sum(), "请假", dtype=object),
            np.full(rest.sum(), "休息", dtype=object),
        ],
    }
    for off_min, dur, reason, valid in slots:
        sched_rows["agent"].append(agent[w][valid])
        sched_rows["didx"].append(didx[w][valid])
        sched_rows["shift_code"].append(shift[w][valid])
        sched_rows["start_min"].append(start_min[w][valid] + off_min[valid])
        sched_rows["end_min"].append(start_min[w][valid] + off_min[valid] + dur[valid])
        sched_rows["activity"].append(np.full(valid.sum(), REASON_ACTIVITY[reason], dtype=object))
    center.schedule = {k: np.concatenate(v) for k, v in sched_rows.items()}
    center.schedule["first"] = first
    center.schedule["site"] = center.site[center.schedule["agent"]]

    # actual sessions: unplanned absence, early/late login, early logout
    present = rng.random(len(w)) >= 0.02
    r = rng.random(len(w))
    login_dev = np.select(
        [r < 0.80, r < 0.94, r < 0.98],
        [rng.uniform(-10, 0, len(w)), rng.uniform(1, 15, len(w)), rng.uniform(15, 60, len(w))],
        rng.uniform(61, 150, len(w)),
    )
    r = rng.random(len(w))
    logout_dev = np.where(r < 0.85, rng.uniform(0, 10, len(w)), -rng.uniform(5, 45, len(w)))
    shift_start = to_epoch(start_min[w], work)
    shift_end = to_epoch(start_min[w] + length[w], work)
    login = shift_start + (login_dev * 60).astype(np.int64)
    logout = shift_end + (logout_dev * 60).astype(np.int64)
    keep = present & (logout > login + 1800)
    k = np.flatnonzero(keep)
    center.sessions = {
        "agent": agent[w][k],
        "login": login[k],
        "logout": logout[k],
        "shift_start": shift_start[k],
    }

    # actual not-ready windows: scheduled ones with jitter/overrun, plus personal ones (some > 15 min)
    nr_s, nr_e, nr_r, nr_sess = [], [], [], []
    for off_min, dur, reason, valid in slots:
        v = valid[k]
        jitter = rng.integers(-180, 181, size=len(k))
        overrun = np.where(rng.random(len(k)) < 0.25, rng.integers(60, 600, size=len(k)), 0)
        s = shift_start[k] + off_min[k] * 60 + np.where(reason in ("training", "meeting"), 0, jitter)
        e = s + dur[k] * 60 + np.where(reason in ("training", "meeting"), 0, overrun)
        nr_s.append(s[v])
        nr_e.append(e[v])
        nr_r.append(np.full(v.sum(), reason, dtype=object))
        nr_sess.append(np.flatnonzero(v))
    span = logout[k] - login[k]
    for p, lo, hi in ((0.10, 16 * 60, 45 * 60), (0.25, 60, 10 * 60)):
        v = rng.random(len(k)) < p
        s = login[k] + (rng.random(len(k)) * np.maximum(span - hi, 1)).astype(np.int64)
        nr_s.append(s[v])
        nr_e.append(s[v] + rng.integers(lo, hi, size=v.sum()))
        nr_r.append(np.full(v.sum(), "personal", dtype=object))
        nr_sess.append(np.flatnonzero(v))
    s = np.concatenate(nr_s)
    e = np.concatenate(nr_e)
    reason = np.concatenate(nr_r)
    sess = np.concatenate(nr_sess)
    # clip to the session; drop overlaps by pushing later windows past earlier ones
    s = np.maximum(s, login[k][sess])
    e = np.minimum(e, logout[k][sess])
    order = np.lexsort((s, sess))
    s, e, reason, sess = s[order], e[order], reason[order], sess[order]
    prev_end = np.zeros_like(e)
    # running max of window ends within a session
    same = np.r_[False, sess[1:] == sess[:-1]]
    run = e.copy()
    for i in range(1, len(run)):  # short: a handful of windows per session
        if same[i] and run[i - 1] > run[i]:
            run[i] = run[i - 1]
    prev_end[1:] = np.where(same[1:], run[:-1], 0)
    s = np.maximum(s, prev_end)
    ok = e - s >= 60
    s, e, reason, sess = s[ok], e[ok], reason[ok], sess[ok]
    center.not_ready = {
        "agent": center.sessions["agent"][sess],
        "start": s,
        "end": e,
        "reason": reason,
        "session": sess,
    }

    # availability windows = session minus not-ready windows, per agent in time order
    gap_s = np.concatenate([center.sessions["login"], e])
    gap_sess = np.concatenate([np.arange(len(k)), sess])
    nxt_s = np.concatenate([s, np.full(len(k), -1)])
    # each gap runs from a boundary (login or a window end) to the next window start in the session (or logout)
    order = np.lexsort((gap_s, gap_sess))
    gap_s, gap_sess = gap_s[order], gap_sess[order]
    starts_sorted = np.lexsort((s, sess))
    nxt_s = np.full(len(gap_s), -1, dtype=np.int64)
    # the next window start after each boundary in the same session
    key_w = sess[starts_sorted].astype(np.int64) * 10**11 + s[starts_sorted]
    key_g = gap_sess.astype(np.int64) * 10**11 + gap_s
    pos = np.searchsorted(key_w, key_g, side="left")
    has = (pos < len(key_w)) & (np.minimum(pos, len(key_w) - 1) >= 0)
    pos_c = np.minimum(pos, len(key_w) - 1)
    same_sess = has & (sess[starts_sorted][pos_c] == gap_sess)
    nxt_s = np.where(same_sess, s[starts_sorted][pos_c], center.sessions["logout"][gap_sess])
    ok = nxt_s - gap_s > 0
    win_agent = center.sessions["agent"][gap_sess[ok]]
    win_s, win_e = gap_s[ok], nxt_s[ok]
    order = np.lexsort((win_s, win_agent))
    win_agent, win_s, win_e = win_agent[order], win_s[order], win_e[order]
    center.window_start = win_s.astype(np.int64)
    center.window_end = win_e.astype(np.int64)
    center.window_bounds = np.searchsorted(win_agent, np.arange(n + 1)).astype(np.int64)


def _site_tz(center: Center) -> dict[str, str]:
    return {q.site: q.tz for q in center.queues}
