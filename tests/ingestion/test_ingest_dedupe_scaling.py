"""The natural-key dedupe reads only the part of the raw table a file's keys can be in.

Proved by counting rows DuckDB scans (its profiler's `rows_scanned`), not by timing: loading a
new day on top of a short and of a ten-times-longer history reads at most one row group
(DuckDB's unit of storage, 122,880 rows; zonemaps skip the rest) of the raw table either way,
while the accounting stays exact (duplicates of the last loaded day are still caught).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from ingest_helpers import KEY

from ingestion.loader import _load_one, connect
from ingestion.pseudonymise import Pseudonymiser

AGENTS = 40
STATES_PER_AGENT_DAY = 24  # hourly intervals
ROW_GROUP_ROWS = 122_880


class ScanCounter:
    """A connection that profiles every statement and sums rows scanned per table."""

    def __init__(self, con, profile: Path):
        self._con = con
        self._profile = profile
        self.rows_scanned: dict[str, int] = {}
        con.execute("set enable_profiling = 'json'")
        con.execute("set profiling_coverage = 'ALL'")
        con.execute(f"set profiling_output = '{profile}'")

    def execute(self, sql, *args):
        result = self._con.execute(sql, *args)
        if self._profile.exists():
            tree = json.loads(self._profile.read_text())
            self._profile.unlink()
            stack = list(tree.get("operator", []))
            while stack:
                node = stack.pop()
                stack.extend(node.get("children", []))
                if node.get("type") == "TABLE_SCAN":
                    table = (node.get("extra_info") or {}).get("Table", "")
                    self.rows_scanned[table] = self.rows_scanned.get(table, 0) + int(
                        node.get("rows_scanned") or 0
                    )
        return result

    def __getattr__(self, name):
        return getattr(self._con, name)


def _history(con, days: int) -> None:
    """`days` days of hourly agent states, appended in time order like daily files would be."""
    con.execute(
        f"""insert into raw.agent_states
            select 'canonical', 'A' || lpad(a::varchar, 4, '0'), 'available', null,
                   timestamp '2026-01-01' + to_hours(d * 24 + h),
                   timestamp '2026-01-01' + to_hours(d * 24 + h + 1),
                   'landing/agent_states/day_' || d || '.csv', h + 2, timestamp '2026-06-01'
            from range({days}) d(d), range({AGENTS}) a(a), range({STATES_PER_AGENT_DAY}) h(h)
            order by d, h, a"""
    )


def _new_day_file(path: Path, day: int) -> int:
    """The day after the history, plus its first two hours re-exported from the last loaded day's
    end (same keys: duplicates). Returns the number of duplicate rows."""
    lines = ["source_system,agent_id,state,reason,start_ts,end_ts"]
    base = datetime(2026, 1, 1)
    for hour in range(day * 24 - 2, day * 24 + STATES_PER_AGENT_DAY):
        for a in range(AGENTS):
            start = base.fromordinal(base.toordinal() + hour // 24).replace(hour=hour % 24)
            end_hour = hour + 1
            end = base.fromordinal(base.toordinal() + end_hour // 24).replace(hour=end_hour % 24)
            lines.append(f"canonical,A{a:04d},available,,{start.isoformat()}Z,{end.isoformat()}Z")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 2 * AGENTS


def _load_new_day(tmp_path: Path, history_days: int) -> tuple[int, object]:
    warehouse = tmp_path / f"h{history_days}" / "warehouse.duckdb"
    con = connect(warehouse)
    try:
        _history(con, history_days)
        path = tmp_path / f"agent_states_day{history_days}.csv"
        duplicates = _new_day_file(path, history_days)
        counter = ScanCounter(con, tmp_path / f"profile_{history_days}.json")
        result = _load_one(counter, path, KEY, Pseudonymiser(KEY), "canonical", None, tmp_path)
        con.execute("set enable_profiling = 'no_output'")
        assert result.status == "loaded", result.message
        assert result.rows_duplicate == duplicates
        assert result.rows_loaded == AGENTS * STATES_PER_AGENT_DAY
        assert result.rows_read == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
        total = con.execute("select count(*) from raw.agent_states").fetchone()[0]
        assert total == (history_days + 1) * AGENTS * STATES_PER_AGENT_DAY
        scanned = sum(n for t, n in counter.rows_scanned.items() if t.endswith("raw.agent_states"))
        return scanned, total
    finally:
        con.close()


def test_rows_scanned_by_the_dedupe_do_not_grow_with_history(tmp_path):
    short_scanned, short_total = _load_new_day(tmp_path, 40)
    long_scanned, long_total = _load_new_day(tmp_path, 400)
    assert long_total > 3 * ROW_GROUP_ROWS and long_total > 9 * short_total
    # The raw table is read (the duplicates above were found in it) ...
    assert 0 < short_scanned and 0 < long_scanned
    # ... but only near the new day's keys: bounded by one row group whatever lies before it
    # (a full scan, as before, would read every row of the history).
    assert short_scanned < short_total / 2
    assert long_scanned <= ROW_GROUP_ROWS < long_total / 3
