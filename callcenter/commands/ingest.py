"""`callcenter ingest`: load landing files into the raw layer of the instance's warehouse."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callcenter.config import data_paths, hmac_key
from callcenter.errors import UserError

HELP = "Load files (or folders) into the raw layer: rows read / loaded / quarantined / duplicate per file."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ingestion import FORMATS

    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (a folder: every file inside)")
    p.add_argument("--format", default="auto", choices=FORMATS, help="reader (default: auto-detect per file)")
    p.add_argument(
        "--mapping", default=None, help="mapping YAML for --format mapped (default: match by name)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--rehash",
        action="store_true",
        help="read and hash every file, even one whose size and mtime match the last check "
        "(for files given new bytes under an old mtime, e.g. by touch -r)",
    )


def run(args: argparse.Namespace) -> int:
    from ingestion import ingest_paths

    paths = data_paths(args.data_dir).ensure()
    key = hmac_key(paths)  # refuses (ConfigError, one line) when no key is configured
    inputs = [Path(p) for p in args.paths]
    for p in inputs:
        if not p.exists():
            raise UserError(f"{p}: no such file or folder")
    mapping = Path(args.mapping) if args.mapping else None
    if mapping is not None and not mapping.is_file():
        raise UserError(f"--mapping {mapping}: no such file")
    results = ingest_paths(
        paths.warehouse,
        inputs,
        key,
        fmt=args.format,
        mapping=mapping,
        progress=not args.no_progress and sys.stderr.isatty(),
        relative_to=paths.root,
        rehash=args.rehash,
    )
    width = max((len(str(r.path)) for r in results), default=4)
    print(f"{'file':<{width}}  {'status':<14} {'read':>9} {'loaded':>9} {'quarant.':>9} {'dupl.':>9}")
    for r in results:
        print(
            f"{str(r.path):<{width}}  {r.status:<14} {r.rows_read:>9} {r.rows_loaded:>9} "
            f"{r.rows_quarantined:>9} {r.rows_duplicate:>9}"
        )
    rejected = [r for r in results if r.status == "rejected"]
    for r in rejected:
        sys.stderr.write(f"callcenter ingest: rejected {r.message}\n")
    totals = [
        sum(getattr(r, f) for r in results)
        for f in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")
    ]
    print(
        f"{len(results)} files ({len(rejected)} rejected): read {totals[0]}, loaded {totals[1]}, "
        f"quarantined {totals[2]}, duplicate {totals[3]}"
    )
    return 1 if rejected else 0
