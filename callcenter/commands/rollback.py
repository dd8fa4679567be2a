"""`callcenter rollback`: serve the previous serving snapshot again (one atomic rename)."""

from __future__ import annotations

import argparse

from callcenter import publish
from callcenter.config import data_paths

HELP = "Serve the previous published snapshot again (or --to SNAPSHOT_ID); --list shows kept snapshots."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="SNAPSHOT_ID", help="snapshot id (or unique prefix) to serve")
    p.add_argument("--list", action="store_true", help="list kept snapshots and exit")


def run(args: argparse.Namespace) -> int:
    paths = data_paths(args.data_dir)
    current = publish.current_snapshot_id(paths)
    if args.list:
        for p in publish.list_snapshots(paths):
            print(f"{'*' if p.stem == current else ' '} {p.stem}")
        return 0
    target = publish.rollback(paths, args.to)
    print(f"serving snapshot {target} (was {current}): {paths.serving}")
    return 0
