"""`callcenter build`: ingest what is new → dbt build → quality gates → publish the serving snapshot."""

from __future__ import annotations

import argparse

from callcenter.config import data_paths
from callcenter.pipeline import run_build

HELP = "Ingest new landing files, build the marts with dbt, run the quality gates, publish serving."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--demo",
        action="store_true",
        help="allow generating the pseudonymisation key under <data-dir>/secrets (demo instances only)",
    )
    p.add_argument("--skip-ingest", action="store_true", help="do not load landing files (raw schema only)")
    p.add_argument("--full-refresh", action="store_true", help="rebuild incremental dbt models from scratch")


def run(args: argparse.Namespace) -> int:
    paths = data_paths(args.data_dir)
    result = run_build(paths, demo=args.demo, skip_ingest=args.skip_ingest, full_refresh=args.full_refresh)
    print()
    print(f"build {result.run_id}: {'SUCCESS' if result.ok else 'FAILED at ' + str(result.failed_step)}")
    for s in result.steps:
        print(f"  {s.name:<14} {'ok' if s.ok else 'FAILED':<6} {s.seconds:6.1f} s  {s.summary}")
    if result.warnings:
        print(f"  {len(result.warnings)} warning(s) (published anyway):")
        for r in result.warnings[:15]:
            print(f"    - {r.suite}.{r.check_name} on {r.table_name}")
    if result.blocking_failures:
        print(f"  {len(result.blocking_failures)} blocking failure(s):")
        for r in result.blocking_failures[:15]:
            print(f"    - {r.suite}.{r.check_name} on {r.table_name}")
    if result.data_docs:
        print(f"  Data Docs: {result.data_docs}")
    if result.ok:
        print(f"  serving: {paths.serving} (snapshot {result.snapshot_id})")
        return 0
    print(f"  error: {result.error}")
    print(f"  serving snapshot unchanged; alerts in {paths.alerts / 'alerts.log'}")
    return 1
