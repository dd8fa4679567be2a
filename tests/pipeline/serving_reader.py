"""A dashboard-like reader: query serving.duckdb read-only in a loop until told to stop.

Each iteration opens a fresh read-only connection (as Superset does, NullPool), reads
marts.publish_info and checks that every table's row count agrees with it — a reader that saw a
mix of two snapshots would find a count from the other one. Prints a JSON summary at the end.

    python serving_reader.py <serving.duckdb> <stop-file> <summary.json>
"""

from __future__ import annotations

import json
import os
import sys
import time

import duckdb


def main(serving: str, stop_file: str, summary_file: str) -> None:
    iterations, lock_errors, other_errors, mixes, missing = 0, [], [], [], 0
    snapshots: list[str] = []
    while not os.path.exists(stop_file):
        if not os.path.exists(serving):
            missing += 1
            time.sleep(0.01)
            continue
        try:
            con = duckdb.connect(serving, read_only=True)
            try:
                info = con.execute(
                    "select snapshot_id, table_name, row_count from marts.publish_info"
                ).fetchall()
                ids = {r[0] for r in info}
                if len(ids) != 1:
                    mixes.append(f"publish_info holds {sorted(ids)}")
                for sid, table, expected in info:
                    n = con.execute(f'select count(*) from marts."{table}"').fetchone()[0]
                    if n != expected:
                        mixes.append(f"{sid}: {table} has {n} rows, publish_info says {expected}")
                sid = next(iter(ids))
                if not snapshots or snapshots[-1] != sid:
                    snapshots.append(sid)
            finally:
                con.close()
        except duckdb.IOException as e:
            (lock_errors if "lock" in str(e).lower() else other_errors).append(str(e)[:200])
        except Exception as e:  # anything else a dashboard would show as an error
            other_errors.append(f"{type(e).__name__}: {str(e)[:200]}")
        iterations += 1
    with open(summary_file, "w") as f:
        json.dump(
            {
                "iterations": iterations,
                "lock_errors": lock_errors,
                "other_errors": other_errors,
                "mixes": mixes,
                "snapshots": snapshots,
                "waits_for_first_snapshot": missing,
            },
            f,
        )


if __name__ == "__main__":
    main(*sys.argv[1:4])
