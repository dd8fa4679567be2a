"""`simulate()`: run the center day by day and write every landing feed plus the ground truth."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import exports, render
from simulator.center import build_center, plan_activity
from simulator.config import load_queues
from simulator.defaults import DEFAULT_START, TELEPHONY
from simulator.engine import (
    ANSWERED,
    TRANSFERRED,
    CallPool,
    chunk_bounds,
    init_state,
    new_arrivals,
    simulate_chunk,
)
from simulator.states import ACW, AVAILABLE, ON_CONTACT, StateBuilder
from simulator.truth import TruthWriter

PROCESS_WRITER_MIN_CONTACTS = 30_000  # a day this big pays for a writer process's start-up (~1-2 s)
CHUNK_TZ_OFFSET_S = 8 * 3600  # files are cut at Asia/Shanghai midnight (the main site; no DST)


@dataclass
class SimulationSummary:
    data_dir: Path
    start: date
    days: int
    seed: int
    scale: float
    telephony: str
    dirty: bool
    agents: int
    contacts: int
    segments: int
    agent_state_rows: int
    survey_responses: int
    seconds: float
    files: list[Path] = field(default_factory=list)
    truth_files: list[Path] = field(default_factory=list)

    def to_json(self) -> dict:
        d = asdict(self)
        d["data_dir"] = str(self.data_dir)
        d["start"] = self.start.isoformat()
        d["files"] = [str(p.relative_to(self.data_dir)) for p in self.files]
        d["truth_files"] = [str(p.relative_to(self.data_dir)) for p in self.truth_files]
        return d


def _progress(enabled: bool, total: int):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    p = Progress(
        TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("days"), TimeElapsedColumn()
    )
    p.start()
    p.add_task("days", total=total)
    return p


def _caller_pools(queues, scale: float, days: int) -> dict[str, tuple[int, int]]:
    pools, lo = {}, 1
    for site in sorted({q.site for q in queues}):
        volume = sum(q.behaviour.weekday_volume for q in queues if q.site == site) * scale * days
        size = int(max(50_000, volume * 25))  # ~1% chance that a new caller is someone seen that week
        pools[site] = (lo, lo + size)
        lo += size
    return pools


def simulate(
    data_dir: Path,
    *,
    days: int,
    start: date = DEFAULT_START,
    seed: int = 42,
    scale: float = 1.0,
    telephony: str = "canonical",
    dirty: bool = False,
    progress: bool = True,
    agents: int | None = None,
) -> SimulationSummary:
    t_begin = time.perf_counter()
    if days < 1:
        raise ValueError("days must be >= 1")
    if telephony not in TELEPHONY:
        raise ValueError(f"telephony must be one of {', '.join(TELEPHONY)}")
    data_dir = Path(data_dir)
    landing, truth = data_dir / "landing", data_dir / "truth"
    queues = load_queues()
    if agents:
        scale = _scale_for_agents(queues, agents, start, days, seed)
    if scale <= 0:
        raise ValueError("scale must be > 0")
    end = start + timedelta(days=days - 1)
    center = build_center(queues, np.random.default_rng([seed, 1]), scale, start, days)
    plan_activity(center, np.random.default_rng([seed, 2]), start, days)
    rng_arrivals = np.random.default_rng([seed, 3])
    rng_attrs = np.random.default_rng([seed, 4])
    pool = CallPool([np.random.default_rng([seed, 5, qi]) for qi in range(len(queues))], queues)
    rng_survey = np.random.default_rng([seed, 8])
    pools = _caller_pools(queues, scale, days)
    t0_all, _ = chunk_bounds(start, 0, CHUNK_TZ_OFFSET_S)
    state = init_state(center, t0_all)
    states = StateBuilder(center)
    truth_seg_dir = truth / "segments"
    if truth_seg_dir.exists():
        shutil.rmtree(truth_seg_dir)
    files: list[Path] = []
    n_segments = n_states = n_responses = 0
    first_entry_of: dict[int, int] = {}
    survey_buffer: list[pd.DataFrame] = []
    survey_index = 0
    handle_by_agent = np.zeros(center.n)
    avail_by_agent = np.zeros(center.n)
    writer_args = (center, telephony, landing, truth, seed, t0_all)
    expected_per_day = sum(q.behaviour.weekday_volume for q in queues) * scale
    if expected_per_day >= PROCESS_WRITER_MIN_CONTACTS:
        # a second process renders and writes day d while this one simulates day d + 1 (2 cores busy)
        writer = ProcessPoolExecutor(
            max_workers=1, mp_context=get_context("fork"), initializer=_worker_init, initargs=writer_args
        )
        write_day, close_writer = _worker_write, _worker_close
        writer.submit(int).result()  # fork now, before the progress bar starts its refresh thread
    else:  # small runs: a thread (no process start-up); the files are the same
        writer = ThreadPoolExecutor(max_workers=1)
        local = ChunkWriter(*writer_args)
        write_day, close_writer = local.write, local.close
    bar = _progress(progress, days)
    writing = None
    try:
        for c in range(days):
            day = start + timedelta(days=c)
            t0, t1 = chunk_bounds(start, c, CHUNK_TZ_OFFSET_S)
            arrivals = new_arrivals(queues, t0, t1, scale, seed, rng_arrivals, pools)
            seg = simulate_chunk(center, state, arrivals, t1, rng_attrs, pool)
            n_segments += len(seg["t"])
            states.add_calls(seg)
            rows = states.emit(t1 if c < days - 1 else None)
            n_states += len(rows["agent"])
            dur = rows["end"] - rows["start"]
            busy = (rows["state"] == ON_CONTACT) | (rows["state"] == ACW)
            handle_by_agent += np.bincount(rows["agent"][busy], dur[busy], minlength=center.n)
            free = rows["state"] == AVAILABLE
            avail_by_agent += np.bincount(rows["agent"][free], dur[free], minlength=center.n)

            first_entry = _first_entries(seg, first_entry_of)
            # rendering and writing overlap the next day's queueing (pyarrow releases the GIL)
            if writing is not None:
                files += writing.result()
            writing = writer.submit(write_day, c, day, seg, rows, first_entry)
            survey_buffer.append(_survey_day(center, seg, first_entry, telephony, rng_survey))
            if (c + 1) % 7 == 0 or c == days - 1:
                responses = pd.concat(survey_buffer, ignore_index=True)
                label = (day - timedelta(days=(c % 7))).isoformat()
                files.append(exports.write_csat(responses, landing, label, survey_index, queues[0].tz))
                n_responses += len(responses)
                survey_buffer, survey_index = [], survey_index + 1
            if bar:
                bar.advance(bar.task_ids[0])
        if writing is not None:
            files += writing.result()
        closing = writer.submit(close_writer)  # the truth's last days, while HR/WFM exports are written here
        if bar:
            bar.stop()
            bar = None
        files += exports.write_roster(center, landing)
        files += exports.write_schedules(center, landing, start, end)
        occupancy = _team_occupancy(center, handle_by_agent, avail_by_agent)
        files += exports.write_stress_survey(
            center, landing, end, occupancy, np.random.default_rng([seed, 9])
        )
        truth_files, contacts = closing.result()
    finally:
        writer.shutdown(wait=True)
        if bar:
            bar.stop()

    if dirty:
        from simulator.faults import inject_faults

        files, manifest = inject_faults(data_dir, files, telephony, np.random.default_rng([seed, 7]))
        truth_files.append(manifest)
    summary = SimulationSummary(
        data_dir=data_dir, start=start, days=days, seed=seed, scale=scale, telephony=telephony, dirty=dirty,
        agents=center.n, contacts=contacts, segments=n_segments, agent_state_rows=n_states,
        survey_responses=n_responses, seconds=round(time.perf_counter() - t_begin, 2),
        files=sorted(set(files)), truth_files=truth_files,
    )  # fmt: skip
    (truth / "summary.json").write_text(
        json.dumps(summary.to_json(), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return summary


class ChunkWriter:
    """Renders each day's calls and agent states to landing and the ground truth (days in order)."""

    def __init__(self, center, telephony: str, landing: Path, truth: Path, seed: int, t0_all: int):
        self.center, self.telephony, self.landing, self.seed = center, telephony, landing, seed
        self.truth = TruthWriter(truth, center.queues, t0_all, telephony)
        self.ctr_redeliver: list[dict] = []

    def close(self) -> tuple[list[Path], int]:
        return self.truth.close(), self.truth.contacts

    def write(self, c: int, day: date, seg, rows, first_entry) -> list[Path]:
        center, telephony, landing = self.center, self.telephony, self.landing
        rng = np.random.default_rng([self.seed, 6, c])  # per day, so rendering order never matters
        stamp = day.isoformat()
        queues = center.queues
        files = []
        if telephony == "canonical":
            ext = "parquet" if c % 5 == 2 else "csv"
            path = landing / "contact_segments" / f"contact_segments_{stamp}.{ext}"
            render.write_segments(center, seg, rng, path)
            files.append(path)
        elif telephony == "asterisk":
            parts = render.queue_log_lines(center, seg, first_entry, rng)
            parts += render.agent_queue_log_lines(center, rows)
            path = landing / "asterisk" / f"queue_log-{day:%Y%m%d}"
            render.write_queue_log(path, parts, c == 0)
            files.append(path)
            cdr = render.cdr_rows(center, seg, first_entry, queues[0].tz)
            path = landing / "asterisk" / f"Master-{day:%Y%m%d}.csv"
            path.write_text("\n".join(cdr) + ("\n" if cdr else ""), encoding="utf-8")
            files.append(path)
        else:
            records = render.ctr_records(center, seg, first_entry)
            again = rng.random(len(records)) < 0.03
            late = [dict(r) for r, a in zip(records, again, strict=True) if a]
            for r in late:  # re-delivered with a newer LastUpdateTimestamp (e.g. attributes updated)
                bumped = pd.Timestamp(r["LastUpdateTimestamp"]) + pd.Timedelta(hours=int(rng.integers(1, 6)))
                r["LastUpdateTimestamp"] = bumped.strftime("%Y-%m-%dT%H:%M:%SZ")
                r["Attributes"] = {**r["Attributes"], "wrapup_updated": "true"}
            path = landing / "amazon_connect" / f"ctr_{stamp}.jsonl"
            render.write_jsonl(path, self.ctr_redeliver + records)
            files.append(path)
            self.ctr_redeliver = late
        ext = "parquet" if c % 4 == 3 else "csv"
        path = landing / "agent_states" / f"agent_states_{stamp}.{ext}"
        render.write_states(center, rows, path)
        files.append(path)
        self.truth.add_day(c, stamp, center, seg, first_entry)
        return files


_WORKER: ChunkWriter | None = None


def _worker_init(*args) -> None:
    global _WORKER
    _WORKER = ChunkWriter(*args)


def _worker_write(*args) -> list[Path]:
    return _WORKER.write(*args)


def _worker_close() -> tuple[list[Path], int]:
    return _WORKER.close()


def _scale_for_agents(queues, agents: int, start: date, days: int, seed: int) -> float:
    """The scale whose center has about ``agents`` agents (headcount grows ~linearly with scale)."""
    scale = 1.0
    for _ in range(4):
        n = build_center(queues, np.random.default_rng([seed, 1]), scale, start, days).n
        scale *= agents / max(n, 1)
    return scale


def _first_entries(seg: dict[str, np.ndarray], memory: dict[int, int]) -> np.ndarray:
    """Entry time of each segment's contact (Asterisk uniqueids are minted when the call arrives).

    ``memory`` keeps the first entry of contacts whose transfer is still pending across days.
    """
    first = seg["t"].copy()
    for i in np.flatnonzero((seg["outcome"] == TRANSFERRED) & (seg["seq"] == 1)):
        memory[int(seg["contact"][i])] = int(seg["t"][i])
    later = np.flatnonzero(seg["seq"] > 1)
    for i in later:
        first[i] = memory.get(int(seg["contact"][i]), int(seg["t"][i]))
    for i in later:
        if seg["outcome"][i] != TRANSFERRED:
            memory.pop(int(seg["contact"][i]), None)
    return first


def _contact_refs(seg, first_entry, rows: np.ndarray, telephony: str) -> list[str]:
    """The contact id as the telephony rendering knows it, for segment rows ``rows``."""
    contact = seg["contact"][rows]
    if telephony == "asterisk":
        return [f"{e}.{c}" for e, c in zip(first_entry[rows].tolist(), contact.tolist(), strict=True)]
    if telephony == "amazon-connect":
        return [render.connect_contact_id(f"C{c:010d}", 1) for c in contact.tolist()]
    return [f"C{c:010d}" for c in contact.tolist()]


def _masked_numbers(center, seg, rows: np.ndarray) -> list[str]:
    """The caller's number as a survey tool shows it: country code dropped, middle masked ('138****5678')."""
    site = np.array([q.site for q in center.queues], dtype=object)[seg["q"][rows]]
    digits = render.e164_numbers(seg["caller"][rows], site).astype(str).tolist()
    withheld = render.is_withheld(seg["caller"][rows]).tolist()
    return ["" if w else f"{d[2:5]}****{d[-4:]}" for d, w in zip(digits, withheld, strict=True)]


def _survey_contacts(seg) -> pd.DataFrame:
    """One row per contact whose last agent leg in this chunk was handled (only those get surveyed).

    Contacts are in order of first appearance in the chunk; ``seg_row`` is that first segment row.
    """
    contact = seg["contact"]
    _, first_row, group = np.unique(contact, return_index=True, return_inverse=True)
    by_group = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[by_group]) != 0])
    last_row = by_group[np.r_[starts[1:] - 1, len(by_group) - 1]] if len(starts) else starts
    out = pd.DataFrame(
        {
            "last_outcome": seg["outcome"][last_row],
            "truly_resolved": seg["resolved"][last_row],
            "transferred": np.maximum.reduceat(seg["seq"][by_group], starts) > 1 if len(starts) else [],
            "complaint": np.maximum.reduceat(seg["complaint"][by_group], starts) if len(starts) else [],
            "total_wait_s": np.add.reduceat(seg["wait"][by_group], starts) if len(starts) else [],
            "last_end": seg["end"][last_row],
            "seg_row": first_row,
        }
    )
    out = out.iloc[np.argsort(first_row, kind="stable")]
    return out[out["last_outcome"] == ANSWERED].reset_index(drop=True)


def _survey_day(center, seg, first_entry, telephony: str, rng) -> pd.DataFrame:
    responses = exports.survey_responses(_survey_contacts(seg), rng)
    rows = responses.pop("seg_row").to_numpy()
    responses["contact_ref"] = _contact_refs(seg, first_entry, rows, telephony)
    responses["masked_number"] = _masked_numbers(center, seg, rows)
    return responses


def _team_occupancy(center, handle: np.ndarray, avail: np.ndarray) -> dict[int, float]:
    team = np.array([center.team_at(i, center.export_dates[-1]) for i in range(center.n)])
    occ = {}
    for t in np.unique(team):
        h, a = handle[team == t].sum(), avail[team == t].sum()
        if h + a > 0:
            occ[int(t)] = float(h / (h + a))
    return occ
