"""A schedule export is the whole plan of every agent-day it lists.

WFM tools re-export a plan when it changes (a break moved, a shift shortened, a day turned into
leave), repeating the days that did not change. Deduplicating by natural key alone would keep the
old break beside the moved one and drop a changed end time (same agent, start and activity). So,
before an export's rows are inserted, the stored rows of each (agent_id, schedule_date) it lists
that it does not repeat exactly (every column equal) move to raw.schedules_replaced, naming the
export that replaced them; rows it repeats stay, with their first lineage, and count as
duplicates. An agent-day the export does not list keeps its plan. "Later" is load order: files
load in path order, and an incremental run loads new files after the ones before.

Nothing is lost: forget_files (re-ingesting a day) puts back the rows a forgotten export replaced.
"""

from __future__ import annotations

import duckdb

from ingestion.loader import key_range_filter
from ingestion.schema import LINEAGE, NATURAL_KEYS, RAW_TABLES

TABLE = "schedules"
REPLACED = "schedules_replaced"
_COLUMNS = [c for c, _ in RAW_TABLES[TABLE]]
_STORED = [*_COLUMNS, *(c for c, _ in LINEAGE)]
# One agent-day: the grain an export replaces.
_DAY = ("agent_id", "schedule_date")


def _same_key(a: str, b: str) -> str:
    """The natural key (agent_id, start_ts, activity) names one stored row."""
    return " and ".join(f"{a}.{k} = {b}.{k}" for k in NATURAL_KEYS[TABLE])


def replace_planned_days(
    con: duckdb.DuckDBPyConnection, stage: str, *, where: str, replaced_at, source_file: str | None = None
) -> dict[str, tuple[int, int]]:
    """Move the stored schedule rows that the valid rows of `stage` (one or more exports, each
    agent-day in at most one of them) replace to raw.schedules_replaced. `source_file`: the
    export's name when `stage` has no source_file column. Returns, per replacing file,
    (rows replaced, agent-days they were on)."""
    file_of = "?" if source_file is not None else "s.source_file"
    params = [source_file] if source_file is not None else []
    con.execute(
        f"""create or replace temp table _planned_days as
            select s.agent_id, s.schedule_date, any_value({file_of}) as replaced_by
            from {stage} s where {where} group by all""",
        params,
    )
    # The date range as constants prunes the stored table by its zonemaps (exports come by month).
    in_range = key_range_filter(con, "_planned_days", ["schedule_date"])
    if in_range == "false":
        con.execute("drop table _planned_days")
        return {}
    same_row = " and ".join(f"s.{c} is not distinct from t.{c}" for c in _COLUMNS)
    con.execute(
        f"""create or replace temp table _replaced_rows as
            select {", ".join("t." + c for c in _STORED)}, d.replaced_by
            from raw.{TABLE} t
            join _planned_days d on t.agent_id = d.agent_id and t.schedule_date = d.schedule_date
            where {in_range}
              and not exists (select 1 from {stage} s where ({where}) and {same_row})"""
    )
    con.execute(
        f"""insert into raw.{REPLACED} ({", ".join(_STORED)}, replaced_by, replaced_at)
            select {", ".join(_STORED)}, replaced_by, ? from _replaced_rows""",
        [replaced_at],
    )
    con.execute(f"delete from raw.{TABLE} t using _replaced_rows r where {_same_key('t', 'r')}")
    replaced = con.execute(
        """select replaced_by, count(*), count(distinct (agent_id, schedule_date))
           from _replaced_rows group by replaced_by"""
    ).fetchall()
    con.execute("drop table _replaced_rows")
    con.execute("drop table _planned_days")
    return {str(f): (int(n), int(days)) for f, n, days in replaced}


def days_planned_twice(con: duckdb.DuckDBPyConnection, stage: str, *, where: str) -> int:
    """Agent-days that more than one export of a batch (`stage` with a per-file `_file`) lists:
    which plan wins depends on load order, so such a batch loads file by file."""
    return con.execute(
        f"""select count(*) from (
                select 1 from {stage} where {where} group by {", ".join(_DAY)}
                having count(distinct _file) > 1)"""
    ).fetchone()[0]


def replaced_note(rows: int, days: int) -> str:
    return f"replaced {rows} rows of earlier exports on {days} agent-days (raw.{REPLACED})"


def restore_replaced(con: duckdb.DuckDBPyConnection, forgotten: str) -> int:
    """After the rows of the files in temp table `forgotten` (column f) left raw: rows those
    exports had replaced come back, unless a later export that stays replaced that agent-day
    too, or their key is stored again. Then the record of what forgotten files replaced, or of
    their own replaced rows, goes. Returns rows restored."""
    restored = con.execute(
        f"""insert into raw.{TABLE} ({", ".join(_STORED)})
            select {", ".join("r." + c for c in _STORED)} from raw.{REPLACED} r
            where r.replaced_by in (select f from {forgotten})
              and r.source_file not in (select f from {forgotten})
              and not exists (
                  select 1 from raw.{REPLACED} later
                  where later.agent_id = r.agent_id and later.schedule_date = r.schedule_date
                    and later.replaced_at > r.replaced_at
                    and later.replaced_by not in (select f from {forgotten}))
              and not exists (select 1 from raw.{TABLE} t where {_same_key("t", "r")})"""
    ).fetchone()[0]
    con.execute(
        f"""delete from raw.{REPLACED}
            where replaced_by in (select f from {forgotten}) or source_file in (select f from {forgotten})"""
    )
    return int(restored)
