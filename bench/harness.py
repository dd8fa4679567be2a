"""The benchmark run: simulate → anchor, references, our pipeline step by step → incremental day.

For each size: simulate the days once (cached under <work>/sim/), hard-link days 1..N-1 into a
fresh instance's landing folder, run every step as its own process (wall time and peak RSS of the
step and its children via ``os.wait4``), replay the dashboards' chart queries against the
published snapshot, then land day N and run `callcenter build`'s flow once more (N: the last day
bringing no monthly/half-yearly export; the export days after it are built next and reported
beside it). A second, short-history instance (first H days, then day H+1, likewise an ordinary
day) shows whether one new day stays flat as history grows. Results go to JSON; BENCHMARKS.md is
rendered from the JSON (bench/report.py).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path

from callcenter.config import DATA_DIR_ENV, HMAC_KEY_ENV, REPO_ROOT

CONTACTS_PER_SCALE_DAY = 2900  # the simulator at --scale 1 (a year's average incl. promotion days)
SHORT_HISTORY_DAYS = 30
BENCH_HMAC_KEY = (
    "bench-only-pseudonymisation-key-not-a-secret"  # benchmark instances hold simulated data only
)
DATE_TOKEN = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?|(\d{4})Q([1-4])")
# Feeds exported monthly, quarterly or half-yearly. A day bringing one of them is not a typical
# new day: a roster export places new hires' history (months of it, on every date they worked),
# a month's schedule lands at once. The new-day target is measured on a day without them; the
# day with them is measured after it and reported beside it.
PERIODIC_FEEDS = ("roster", "schedules", "stress_survey", "survey_waves")


@dataclass
class Size:
    label: str
    contacts: int
    days: int
    scale: float


def parse_count(text: str) -> int:
    t = text.strip().upper().replace("_", "")
    mult = {"K": 1_000, "M": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def label_for(contacts: int) -> str:
    if contacts >= 1_000_000 and contacts % 100_000 == 0:
        return f"{contacts / 1_000_000:g}M"
    if contacts >= 1_000:
        return f"{contacts / 1_000:g}k"
    return str(contacts)


def size_for_contacts(contacts: int, days: int) -> Size:
    scale = round(contacts / (days * CONTACTS_PER_SCALE_DAY), 4)
    return Size(label_for(contacts), contacts, days, scale)


def size_for_scale(scale: float, days: int) -> Size:
    contacts = int(scale * days * CONTACTS_PER_SCALE_DAY)
    return Size(f"scale{scale:g}", contacts, days, scale)


# --------------------------------------------------------------------------------------------
# running and measuring one process


def run_measured(cmd: list[str], *, env: dict, log: Path, cwd: Path = REPO_ROOT) -> dict:
    """Run `cmd`, return wall seconds, peak RSS (the process and its waited-for children) and its facts."""
    log.parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    with open(log, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    facts = {}
    lines = log.read_text(errors="replace").strip().splitlines()
    if lines and lines[-1].startswith("{"):
        try:
            facts = json.loads(lines[-1])
        except json.JSONDecodeError:
            facts = {}
    if proc.returncode != 0:
        tail = "\n".join(lines[-15:])
        raise RuntimeError(f"{' '.join(cmd[:4])}… exited {proc.returncode} (log {log}):\n{tail}")
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "loadavg_before": [round(x, 2) for x in load_before],
        "facts": facts,
    }


def step_cmd(step: str, data_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bench.steps", step, "--data-dir", str(data_dir), *extra]


def child_env(data_dir: Path) -> dict:
    env = dict(os.environ)
    env[DATA_DIR_ENV] = str(data_dir)
    env[HMAC_KEY_ENV] = BENCH_HMAC_KEY
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("CALLCENTER_HMAC_KEY_FILE", None)
    return env


# --------------------------------------------------------------------------------------------
# data: simulate once, then split into history + next day


def simulate(size: Size, work: Path, seed: int, echo) -> tuple[Path, dict, dict]:
    sim = work / "sim" / f"seed{seed}-scale{size.scale:g}-days{size.days}"
    summary_file = sim / "truth" / "summary.json"
    if summary_file.exists():
        echo(f"  reusing simulated data in {sim}")
        return sim, json.loads(summary_file.read_text()), {"seconds": None, "reused": True}
    shutil.rmtree(sim, ignore_errors=True)
    echo(f"  simulating {size.days} days at scale {size.scale:g} (~{size.contacts:,} contacts) into {sim}")
    cmd = [sys.executable, "-m", "callcenter.cli", "--data-dir", str(sim), "simulate"]
    cmd += ["--days", str(size.days), "--scale", str(size.scale), "--seed", str(seed), "--no-progress"]
    measured = run_measured(cmd, env=child_env(sim), log=work / "logs" / f"simulate-{size.label}.log")
    return sim, json.loads(summary_file.read_text()), measured


def file_day(path: Path) -> date | None:
    """The day a landing file belongs to: its date, or the first day of its month / quarter."""
    m = DATE_TOKEN.search(path.name)
    if not m:
        return None
    if m.group(4):
        return date(int(m.group(4)), 3 * int(m.group(5)) - 2, 1)
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))


def link_landing(sim: Path, instance: Path, *, through: date | None = None, on: date | None = None) -> dict:
    """Hard-link the simulated landing files of days <= `through` (undated files too), or of day `on`."""
    src_root = sim / "landing"
    files = rows = 0
    for src in sorted(p for p in src_root.rglob("*") if p.is_file()):
        d = file_day(src)
        chosen = (d is None or d <= through) if through is not None else d == on
        if not chosen:
            continue
        dst = instance / "landing" / src.relative_to(src_root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        files += 1
        rows += dst.stat().st_size
    return {"files": files, "bytes": rows}


# --------------------------------------------------------------------------------------------
# one size


def plain_day(sim: Path, day: date, step: int) -> date:
    """`day`, or the nearest day in direction `step` (+1 / -1) that brings no periodic export
    (PERIODIC_FEEDS): only the daily feeds (contact segments, agent states, weekly surveys)."""
    periodic = {
        file_day(p) for feed in PERIODIC_FEEDS for p in (sim / "landing" / feed).glob("*") if p.is_file()
    }
    while day in periodic:
        day += timedelta(days=step)
    return day


def dbt_profile(instance: Path, top: int = 12) -> dict:
    run_results = instance / "run" / "dbt" / "target" / "run_results.json"
    if not run_results.exists():
        return {}
    data = json.loads(run_results.read_text())
    results = data.get("results", [])
    by_type: dict[str, float] = {}
    for r in results:
        kind = r["unique_id"].split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0.0) + r["execution_time"]
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:top]
    return {
        "elapsed_s": round(data.get("elapsed_time", 0.0), 3),
        "nodes": len(results),
        "seconds_by_type": {k: round(v, 2) for k, v in sorted(by_type.items())},
        "slowest": [
            {"node": r["unique_id"], "seconds": round(r["execution_time"], 3), "status": r["status"]}
            for r in slowest
        ],
    }


def warehouse_rows(instance: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(instance / "serving" / "serving.duckdb"), read_only=True)
    try:
        return {
            t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0]
            for t in ("fct_contacts", "fct_queue_stints", "agg_queue_interval", "agg_staffing_interval")
        }
    finally:
        con.close()


def marts_totals(instance: Path) -> dict:
    """The same KPI totals as the references, from our marts (the references must agree)."""
    import duckdb

    con = duckdb.connect(str(instance / "serving" / "serving.duckdb"), read_only=True)
    try:
        row = con.execute(
            "select sum(offered), sum(sl_num), sum(sl_den), sum(asa_num), sum(asa_den), "
            "sum(aht_den), sum(aht_num), sum(fcr_num), sum(fcr_den) from marts.agg_center_daily"
        ).fetchone()
    finally:
        con.close()
    names = ["offered", "sl_num", "sl_den", "asa_num", "asa_den", "handled", "handle_s", "fcr_num", "fcr_den"]
    return {k: (round(float(v), 3) if v is not None else None) for k, v in zip(names, row, strict=True)}


def run_size(
    size: Size, work: Path, *, seed: int, chart_runs: int, history_check: bool, keep: bool, echo
) -> dict:
    from bench import charts

    result: dict = {
        "label": size.label,
        "target_contacts": size.contacts,
        "days": size.days,
        "scale": size.scale,
    }
    sim, summary, sim_measured = simulate(size, work, seed, echo)
    result["simulation"] = {
        "contacts": summary["contacts"],
        "segments": summary["segments"],
        "agents": summary["agents"],
        "agent_state_rows": summary["agent_state_rows"],
        "seconds": sim_measured.get("seconds"),
        "reused": sim_measured.get("reused", False),
    }
    start = date.fromisoformat(summary["start"])
    last_day = start + timedelta(days=summary["days"] - 1)
    new_day = max(plain_day(sim, last_day, -1), start + timedelta(days=1))
    inst = work / "run" / size.label / "main"
    shutil.rmtree(inst, ignore_errors=True)
    result["history"] = {
        "through": str(new_day - timedelta(days=1)),
        **link_landing(sim, inst, through=new_day - timedelta(days=1)),
    }
    env = child_env(inst)
    logs = work / "logs" / size.label
    steps: dict = {}

    def measure(name: str, step: str, *extra: str) -> dict:
        echo(f"  {name} …")
        m = run_measured(step_cmd(step, inst, *extra), env=env, log=logs / f"{name}.log")
        steps[name] = m
        echo(f"  {name}: {m['seconds']:.2f} s, peak RSS {m['peak_rss_mb']:.0f} MB")
        return m

    measure("anchor_count", "anchor_count")
    measure("anchor_parse", "anchor_parse")
    measure("reference_sql", "reference_sql", "--output", str(inst / "reference_sql.duckdb"))
    measure("reference_pandas", "reference_pandas", "--output", str(inst / "reference_pandas"))
    run_id = f"bench-{size.label}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    since = datetime.now(UTC).replace(tzinfo=None).isoformat()
    measure("ingest", "ingest")
    measure("dbt_build", "dbt")
    result["dbt_full_build"] = dbt_profile(inst)
    measure("checks", "checks", "--run-id", run_id, "--since", since)
    measure("publish", "publish", "--run-id", run_id)
    result["steps"] = steps
    result["marts_rows"] = warehouse_rows(inst)
    result["kpi_totals"] = {
        "reference_sql": steps["reference_sql"]["facts"].get("totals"),
        "reference_pandas": steps["reference_pandas"]["facts"].get("totals"),
        "marts": marts_totals(inst),
    }

    echo(f"  replaying the dashboards' chart queries ({chart_runs} runs each) …")
    result["connect_baseline"] = charts.connect_baseline(inst / "serving" / "serving.duckdb", chart_runs)
    result["charts"] = charts.replay(inst / "serving" / "serving.duckdb", runs=chart_runs)

    long_history = incremental_day(sim, inst, [new_day], env, logs / "incremental", echo)
    long_history["history_days"] = (new_day - start).days
    result["incremental"] = {"long_history": long_history}
    if new_day < last_day:  # then the days with periodic exports, as they come
        rest = [new_day + timedelta(days=k) for k in range(1, (last_day - new_day).days + 1)]
        export_day = incremental_day(sim, inst, rest, env, logs / "incremental-exports", echo)
        export_day["history_days"] = (rest[0] - start).days
        result["incremental"]["export_day"] = export_day
    if history_check:
        short_new_day = plain_day(
            sim, start + timedelta(days=min(SHORT_HISTORY_DAYS, max(2, summary["days"] // 3))), 1
        )
        short_days = (short_new_day - start).days
        short = work / "run" / size.label / "short"
        shutil.rmtree(short, ignore_errors=True)
        through = short_new_day - timedelta(days=1)
        link_landing(sim, short, through=through)
        senv = child_env(short)
        echo(f"  short history: full build of the first {short_days} days …")
        full = run_measured(
            step_cmd("build", short, "--run-id", f"{run_id}-short"), env=senv, log=logs / "short-build.log"
        )
        inc = incremental_day(sim, short, [short_new_day], senv, logs / "incremental-short", echo)
        inc["history_days"] = short_days
        inc["full_build_seconds"] = full["seconds"]
        result["incremental"]["short_history"] = inc
        if not keep:
            shutil.rmtree(short, ignore_errors=True)
    if not keep:
        shutil.rmtree(inst, ignore_errors=True)
    return result


def incremental_day(sim: Path, inst: Path, days: list[date], env: dict, logs: Path, echo) -> dict:
    """Land the files of `days` (usually one) and run `callcenter build` once."""
    landed = {"files": 0, "bytes": 0}
    for day in days:
        for k, v in link_landing(sim, inst, on=day).items():
            landed[k] += v
    feeds = sorted(
        {p.parent.name for p in (inst / "landing").rglob("*") if p.is_file() and file_day(p) in days}
    )
    day = days[-1]
    echo(f"  one more day ({day}, {landed['files']} files: {', '.join(feeds)}): callcenter build …")
    m = run_measured(step_cmd("build", inst, "--run-id", f"bench-inc-{day}"), env=env, log=logs / "build.log")
    echo(f"  one more day: {m['seconds']:.2f} s end to end, peak RSS {m['peak_rss_mb']:.0f} MB")
    return {"day": str(day), "feeds": feeds, **landed, **m, "dbt": dbt_profile(inst, top=8)}


# --------------------------------------------------------------------------------------------
# dashboards: warm renders in Superset and chromium, on the demo data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_dashboards(work: Path, *, days: int, seed: int, opens: int, keep: bool, echo) -> dict:
    """Issue 8's render budget: the demo data as `make demo` makes it (the last `days` days, same
    seed), built and served by a Superset of its own, every dashboard opened warm as the executive
    (bench/render.py) after a reference dashboard without charts."""
    from bench import render
    from callcenter.commands.serve import superset_python

    superset_python()  # a clear error when `make setup` has not installed Superset
    if not Path(render.CHROMIUM).exists():
        raise RuntimeError(f"no chromium at {render.CHROMIUM}: run `make setup`")
    inst = work / "run" / "dashboards"
    shutil.rmtree(inst, ignore_errors=True)
    env, logs = child_env(inst), work / "logs" / "dashboards"

    def cli(name: str, *args: str) -> dict:
        cmd = [sys.executable, "-m", "callcenter.cli", "--data-dir", str(inst), *args]
        return run_measured(cmd, env=env, log=logs / f"{name}.log")

    start = datetime.now(UTC).date() - timedelta(days=days)
    echo(f"  demo data: simulate {days} days from {start} (seed {seed}), build, serve …")
    result: dict = {"days": days, "seed": seed, "start": str(start)}
    result["simulate"] = cli(
        "simulate",
        "simulate",
        "--days",
        str(days),
        "--start",
        str(start),
        "--seed",
        str(seed),
        "--no-progress",
    )
    result["build"] = cli("build", "build")
    port = free_port()
    result["serve"] = cli("serve", "serve", "--background", "--port", str(port))
    try:
        echo(f"  opening every dashboard: once to warm, then {opens} timed opens each …")
        result.update(
            render.measure_warm_renders(
                f"http://127.0.0.1:{port}", inst, inst / "chromium_profile", opens=opens, echo=echo
            )
        )
    finally:
        subprocess.run(
            [sys.executable, "-m", "callcenter.cli", "--data-dir", str(inst), "serve", "--stop"],
            env=env,
            capture_output=True,
            timeout=120,
        )
    if not keep:
        shutil.rmtree(inst, ignore_errors=True)
    return result


# --------------------------------------------------------------------------------------------
# machine and the whole run


def machine() -> dict:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for pkg in ("duckdb", "dbt-core", "dbt-duckdb", "pandas", "pyarrow", "great-expectations", "dagster"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    commit = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": commit or None,
    }


def run_bench(
    sizes: list[Size],
    work: Path,
    out: Path,
    *,
    seed: int = 42,
    chart_runs: int = 20,
    history_check: bool = True,
    keep: bool = False,
    smoke: bool = False,
    dashboard_days: int | None = None,
    render_opens: int = 3,
    echo=print,
) -> list[Path]:
    """Each size, then (unless dashboard_days is None) the dashboards' warm renders on demo data."""
    from bench import report

    out.mkdir(parents=True, exist_ok=True)
    info = machine()

    def measured(run, evaluate, path: Path) -> Path:
        """Run one part of the bench, stamp it with time, load and machine, write its JSON."""
        started, load_start = datetime.now(UTC), os.getloadavg()
        result = run()
        result.update(
            {
                "smoke": smoke,
                "started_at": started.isoformat(timespec="seconds"),
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "loadavg_start": [round(x, 2) for x in load_start],
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                "machine": info,
            }
        )
        result["targets"] = evaluate(result)
        path.write_text(json.dumps(result, indent=2, default=str) + "\n")
        echo(f"  wrote {path}")
        return path

    written = []
    for size in sizes:
        echo(f"== {size.label} contacts ({size.days} days, scale {size.scale:g})")
        written.append(
            measured(
                lambda size=size: run_size(
                    size,
                    work,
                    seed=seed,
                    chart_runs=chart_runs,
                    history_check=history_check,
                    keep=keep,
                    echo=echo,
                ),
                report.evaluate,
                out / f"{'smoke' if smoke else 'contacts'}_{size.label}.json",
            )
        )
    if dashboard_days is not None:
        echo(f"== dashboards ({dashboard_days} days of demo data)")
        written.append(
            measured(
                lambda: run_dashboards(
                    work, days=dashboard_days, seed=seed, opens=render_opens, keep=keep, echo=echo
                ),
                report.evaluate_dashboards,
                out / f"{'smoke_' if smoke else ''}{report.DASHBOARDS_RESULT}",
            )
        )
    return written
