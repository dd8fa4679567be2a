"""One benchmark step per process: `python -m bench.steps STEP --data-dir D [...]`.

The harness runs every step as its own child so its wall time and peak RSS (``wait4``) belong to
that step alone. The pipeline steps call the same functions as `callcenter build`
(callcenter/pipeline.py); the anchor and references live in their own modules.
A step prints one JSON line (its own facts, e.g. row counts) on stdout as its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from callcenter.config import data_paths, hmac_key


def _quiet(_line: str) -> None:
    pass


def ingest_profile(warehouse: Path, since: datetime | None = None) -> list[dict]:
    """Per landing source: files, rows and seconds spent, from the manifest the readers write."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select source, format, count(*), sum(rows_read), sum(epoch(finished_at - started_at)) "
            "from raw.file_manifest where started_at >= coalesce(?, started_at) group by all order by 5 desc",
            [since],
        ).fetchall()
    finally:
        con.close()
    names = ["source", "format", "files", "rows_read", "seconds"]
    return [dict(zip(names, (*r[:4], round(float(r[4] or 0), 2)), strict=True)) for r in rows]


def step_ingest(args) -> dict:
    from callcenter.pipeline import ingest_step

    paths = data_paths(args.data_dir).ensure()
    summary, results = ingest_step(paths, hmac_key(paths), skip=False, echo=_quiet)
    return {
        "summary": summary,
        "rows_loaded": sum(r.rows_loaded for r in results),
        "files_loaded": sum(r.status == "loaded" for r in results),
        "by_source": ingest_profile(paths.warehouse),
    }


def step_dbt(args) -> dict:
    from callcenter.pipeline import dbt_build_step

    paths = data_paths(args.data_dir)
    ok, summary, _nodes = dbt_build_step(paths, full_refresh=args.full_refresh, echo=_quiet)
    if not ok:
        raise SystemExit(f"dbt build failed: {summary}")
    return {"summary": summary}


def step_checks(args) -> dict:
    from callcenter.pipeline import _dbt_results, dbt_check_rows, dbt_paths, quality_step

    paths = data_paths(args.data_dir)
    nodes = _dbt_results(dbt_paths(paths)[0] / "run_results.json")
    since = datetime.fromisoformat(args.since) if args.since else None
    report = quality_step(paths, args.run_id, since=since, extra_results=dbt_check_rows(nodes), echo=_quiet)
    return {
        "checks": len(report.results),
        "blocking_failures": len(report.blocking_failures),
        "warnings": len(report.warnings),
    }


def step_publish(args) -> dict:
    from callcenter.pipeline import publish_step

    snap = publish_step(data_paths(args.data_dir), args.run_id)
    return {"snapshot_id": snap.snapshot_id, "tables": len(snap.tables)}


def step_build(args) -> dict:
    """The whole `callcenter build` flow in one process (used for the incremental day)."""
    from callcenter.pipeline import run_build

    paths = data_paths(args.data_dir)
    started = datetime.now(UTC).replace(tzinfo=None)
    result = run_build(paths, run_id=args.run_id, echo=_quiet)
    if not result.ok:
        raise SystemExit(f"build failed at {result.failed_step}: {result.error}")
    return {
        "steps": {s.name: round(s.seconds, 3) for s in result.steps},
        "ingest_by_source": ingest_profile(paths.warehouse, since=started),
    }


def step_anchor_count(args) -> dict:
    from bench import reference_sql

    return reference_sql.anchor(data_paths(args.data_dir).landing, full_parse=False)


def step_anchor_parse(args) -> dict:
    from bench import reference_sql

    return reference_sql.anchor(data_paths(args.data_dir).landing, full_parse=True)


def step_reference_sql(args) -> dict:
    from bench import reference_sql

    return reference_sql.run(data_paths(args.data_dir).landing, Path(args.output))


def step_reference_pandas(args) -> dict:
    from bench import reference_pandas

    return reference_pandas.run(data_paths(args.data_dir).landing, Path(args.output))


STEPS = {
    "ingest": step_ingest,
    "dbt": step_dbt,
    "checks": step_checks,
    "publish": step_publish,
    "build": step_build,
    "anchor_count": step_anchor_count,
    "anchor_parse": step_anchor_parse,
    "reference_sql": step_reference_sql,
    "reference_pandas": step_reference_pandas,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.steps")
    p.add_argument("step", choices=sorted(STEPS))
    p.add_argument("--data-dir", required=True)
    p.add_argument("--run-id", default="bench")
    p.add_argument("--since", default=None, help="ISO timestamp: checks look at rows loaded since then")
    p.add_argument("--full-refresh", action="store_true")
    p.add_argument("--output", default=None, help="reference steps: where to write their KPI tables")
    args = p.parse_args(argv)
    facts = STEPS[args.step](args)
    sys.stdout.write("\n" + json.dumps(facts, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
