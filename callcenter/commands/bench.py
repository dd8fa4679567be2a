"""`callcenter bench`: scale, incremental cost, dashboard latency and memory (issue 9)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from callcenter.config import REPO_ROOT, data_paths
from callcenter.errors import UserError

HELP = (
    "Benchmark the pipeline against DuckDB and pandas references at 1M/10M contacts, and the dashboards' "
    "warm renders in Superset; writes BENCHMARKS.md."
)

SMOKE_CONTACTS = 3_000
SMOKE_DAYS = 6
DEMO_DAYS = 35  # the dashboards' warm renders run on `make demo`'s data: the Makefile's DEMO_DAYS
SMOKE_DEMO_DAYS = 7


def add_arguments(p: argparse.ArgumentParser) -> None:
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--contacts", default="1M,10M", help="comma-separated sizes, e.g. 1M,10M or 200k (default 1M,10M)"
    )
    size.add_argument("--scale", default=None, help="comma-separated simulator scales instead of sizes")
    p.add_argument("--days", type=int, default=365, help="days of history to simulate (default 365)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--smoke",
        action="store_true",
        help=f"tiny end-to-end run (~{SMOKE_CONTACTS:,} contacts, {SMOKE_DAYS} days, 3 query runs): checks "
        "the harness, not the speed",
    )
    p.add_argument("--out", default=None, help="folder for the results JSON and BENCHMARKS.md")
    p.add_argument(
        "--work-dir",
        default=None,
        help="where simulated data (kept, reused) and benchmark instances live (default <data-dir>/bench)",
    )
    p.add_argument("--chart-runs", type=int, default=None, help="runs per chart query (default 20; smoke 3)")
    p.add_argument(
        "--no-history-check",
        action="store_true",
        help="skip the short-history instance that shows a new day stays flat as history grows",
    )
    p.add_argument("--keep", action="store_true", help="keep the benchmark instances after the run")
    dash = p.add_mutually_exclusive_group()
    dash.add_argument(
        "--no-dashboards",
        action="store_true",
        help="skip the dashboards' warm renders in Superset and chromium (issue 8's 3 s budget)",
    )
    dash.add_argument(
        "--dashboards-only",
        action="store_true",
        help="measure only the dashboards' warm renders (the sizes' results already in --out are kept)",
    )
    p.add_argument(
        "--dashboard-days",
        type=int,
        default=None,
        help=f"days of demo data for the warm renders (default {DEMO_DAYS}, like `make demo`; smoke "
        f"{SMOKE_DEMO_DAYS})",
    )
    p.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing: regenerate BENCHMARKS.md from the results JSON already in --out",
    )


def _sizes(args):
    from bench.harness import parse_count, size_for_contacts, size_for_scale

    if args.smoke:
        return [size_for_contacts(SMOKE_CONTACTS, SMOKE_DAYS)]
    if args.days < 3:
        raise UserError("--days must be >= 3 (history, a new day, and a short history to compare)")
    try:
        if args.scale:
            return [size_for_scale(float(s), args.days) for s in args.scale.split(",") if s.strip()]
        return [size_for_contacts(parse_count(s), args.days) for s in args.contacts.split(",") if s.strip()]
    except ValueError as e:
        raise UserError(f"cannot read the sizes: {e}") from e


def run(args: argparse.Namespace) -> int:
    from bench import harness, report

    if args.render_only:
        out = Path(args.out) if args.out else REPO_ROOT / "bench" / "results"
        results = report.load_results(out)
        if not results:
            raise UserError(f"no results JSON in {out}: run `callcenter bench` first")
        markdown = out / "BENCHMARKS.md" if args.out else REPO_ROOT / "BENCHMARKS.md"
        report.write_markdown(results, markdown, report.load_dashboards(out))
        print(f"report: {markdown}")
        return 0
    sizes = _sizes(args)
    if any(s.scale <= 0 for s in sizes):
        raise UserError("sizes must be > 0")
    work = Path(args.work_dir) if args.work_dir else data_paths(args.data_dir).root / "bench"
    if args.out:
        out = Path(args.out)
    elif args.smoke:
        out = Path(tempfile.mkdtemp(prefix="callcenter-bench-smoke-"))
    else:
        out = REPO_ROOT / "bench" / "results"
    chart_runs = args.chart_runs or (3 if args.smoke else 20)
    dashboard_days = args.dashboard_days or (SMOKE_DEMO_DAYS if args.smoke else DEMO_DAYS)
    if dashboard_days < 2:
        raise UserError("--dashboard-days must be >= 2")
    written = harness.run_bench(
        [] if args.dashboards_only else sizes,
        work,
        out,
        seed=args.seed,
        chart_runs=chart_runs,
        history_check=not args.no_history_check and not args.smoke,
        keep=args.keep,
        smoke=args.smoke,
        dashboard_days=None if args.no_dashboards else dashboard_days,
        render_opens=2 if args.smoke else 3,
    )
    results = report.load_results(out, prefix="smoke_" if args.smoke else "contacts_")
    dashboards = report.load_dashboards(out, smoke=args.smoke)
    markdown = out / "BENCHMARKS.md" if (args.out or args.smoke) else REPO_ROOT / "BENCHMARKS.md"
    report.write_markdown(results, markdown, dashboards)
    print(f"results: {', '.join(map(str, written))}")
    print(f"report:  {markdown}")
    labelled = [(r["label"], r["targets"]) for r in results]
    if dashboards and not args.no_dashboards:
        labelled.append(("demo", dashboards["targets"]))
    for label, targets in labelled:
        for t in targets:
            mark = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
            print(f"  {label:>6}  {t['what']:<55} {t['target']:>8}  {t['measured']!s:>10}  {mark}")
    return 0
