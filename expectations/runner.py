"""Run the GX suites of `expectations/suites/` against the warehouse; keep results and Data Docs.

GX 1.x has no working DuckDB datasource here, so every suite validates a pandas DataFrame read
from the warehouse through a read-only DuckDB connection. What a suite reads is declared in its
JSON ``meta``:

- ``"table": "raw.contact_segments"``: the whole table;
- ``"query": "select ..."``: a SQL frame (reconciliations, derived columns);
- ``"frame": "<generator>"`` with ``"params"``: a frame built here (volume against the same
  weekday's history, source freshness, the personal-data scan of every published column, stress
  cells) — the heavy lifting stays in DuckDB, GX judges the small result.

Whether a failed expectation blocks publishing or only warns comes from ``expectations/checks.yaml``
(not from the suite files), so operations can change it without touching the suites.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import yaml

from callcenter.config import duckdb_memory_limit

if TYPE_CHECKING:  # pandas is imported only where GX needs a DataFrame (~2 CPU s without bytecode)
    import pandas as pd
    import pyarrow as pa

EXPECTATIONS_DIR = Path(__file__).resolve().parent
SUITES_DIR = EXPECTATIONS_DIR / "suites"
CHECKS_CONFIG = EXPECTATIONS_DIR / "checks.yaml"

BLOCK, WARN = "block", "warn"

# Phone-number-like: 7-15 digits, optionally written with spaces, dashes, dots or parentheses,
# not glued to letters or digits (RE2 has no look-around: the edges are matched explicitly).
PHONE_LIKE_RE = r"(^|[^0-9A-Za-z])\+?[0-9]([ ().-]?[0-9]){6,14}([^0-9A-Za-z]|$)"
# ISO dates/times are stripped before the scan: they are not phone numbers.
ISO_DATETIME_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?"

log = logging.getLogger(__name__)


@dataclass
class CheckResult:
    suite: str
    table_name: str
    check_name: str
    severity: str  # block | warn
    success: bool
    observed_value: str | None = None
    unexpected_count: int | None = None
    rows_checked: int | None = None
    details: str = ""
    alert_kind: str | None = None  # which alert a failure raises (None: the generic check alert)
    failing_items: list[dict] = field(default_factory=list)  # e.g. the day or column that failed

    def as_row(self) -> dict:
        d = asdict(self)
        d.pop("failing_items")
        return d


@dataclass
class QualityReport:
    run_id: str
    results: list[CheckResult]
    data_docs: Path | None

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == BLOCK]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == WARN]


# --------------------------------------------------------------------------------------------
# configuration


def load_config(path: Path = CHECKS_CONFIG) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def severity_for(config: dict, suite: str, check: str) -> str:
    checks = config.get("checks") or {}
    suites = config.get("suites") or {}
    sev = checks.get(f"{suite}.{check}") or (suites.get(suite) or {}).get("severity")
    sev = sev or config.get("default_severity", BLOCK)
    if sev not in (BLOCK, WARN):
        raise ValueError(f"checks.yaml: severity of {suite}.{check} must be block or warn, not {sev!r}")
    return sev


def load_suites(suites_dir: Path = SUITES_DIR) -> list[dict]:
    suites = []
    for p in sorted(suites_dir.glob("*.json")):
        suite = json.loads(p.read_text(encoding="utf-8"))
        if suite.get("name") != p.stem:
            raise ValueError(f"{p}: suite name {suite.get('name')!r} must match the file name")
        suites.append(suite)
    return suites


def check_name(expectation: dict) -> str:
    meta = expectation.get("meta") or {}
    if meta.get("check"):
        return meta["check"]
    kw = expectation.get("kwargs", {})
    target = kw.get("column") or "_".join(kw.get("column_list", [])) or kw.get("column_A", "table")
    return f"{expectation['type']}:{target}"


# --------------------------------------------------------------------------------------------
# frames read from DuckDB


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, _, name = qualified.partition(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow(con, sql: str, params: list | None = None) -> pa.Table:
    """The whole result as an Arrow table, on its own cursor (duckdb 2.0 refuses new work on a
    connection whose last result was not fetched to the end)."""
    cur = con.cursor()
    try:
        return cur.sql(sql, params=params).to_arrow_table()
    finally:
        cur.close()


def volume_frame(
    con, params: dict, since: datetime | None, window_start: date | None = None, table_windows=None
) -> pa.Table:
    """Rows per local day against the median of the same weekday in the preceding weeks.

    The last local day of a series is not judged when it is only the tail of daily exports cut
    the day before: every file with rows on it has its strictly busiest local day on the day
    before (night shifts that started on the last exported day and ended after midnight). A day a
    file of its own delivers, even a truncated one, is judged; a stopped feed has no later day to
    judge and is the freshness check's to catch.
    """
    table, ts = params["table"], params["ts_column"]
    tz = params.get("time_zone", "Asia/Shanghai")
    weeks = int(params.get("history_weeks", 4))
    min_weeks = int(params.get("min_history_weeks", 2))
    series = params.get("series_column")
    grp = _q(series) if series else "'all'"
    schema, _, name = table.partition(".")
    file_col = params.get("file_column", "source_file")
    has_file = file_col in {c for c, _ in _columns(con, schema, name)}
    file_expr = f"cast({_q(file_col)} as varchar)" if has_file else "cast(null as varchar)"
    # Only the days that received new rows in this run are judged: an old anomaly must not
    # alert (or block) again on every later build.
    judged = "true"
    args: list[Any] = []
    recent, lo = "true", "min(day)"
    loaded = params.get("loaded_at_column", "loaded_at")
    if since is not None and loaded:
        judged = (
            f"day in (select distinct cast(timezone('{tz}', timezone('UTC', {_q(ts)})) as date) "
            f"from {table} where {_q(loaded)} >= ?)"
        )
        # Judged days are compared with the same weekday of the `weeks` before them, so only
        # those weeks are read (cost flat as history grows). Local days lie within a day of UTC.
        first = con.execute(f"select min({_q(ts)}) from {table} where {_q(loaded)} >= ?", [since]).fetchone()[
            0
        ]
        cutoff = (first.date() if first else date(9999, 1, 1)) - timedelta(days=7 * weeks + 2)
        recent = f"{_q(ts)} >= ? and cast(timezone('{tz}', timezone('UTC', {_q(ts)})) as date) >= ?"
        # a series with older rows had its spine (zero-filled days) start before the cutoff
        older = [
            s
            for (s,) in con.execute(
                f"select distinct cast({grp} as varchar) from {table} where {_q(ts)} >= ?", [cutoff]
            ).fetchall()
            if con.execute(
                f"select count(*) from (select 1 from {table} where cast({grp} as varchar) is not distinct from ? "
                f"and {_q(ts)} < ? limit 1)",
                [s, cutoff],
            ).fetchone()[0]
        ]
        args = [cutoff - timedelta(days=1), cutoff]
        if older:
            lo = f"case when series in ({', '.join('?' * len(older))}) then ? else min(day) end"
            args += [*older, cutoff]
        args.append(since)
    sql = f"""
        with ev as (
            select cast({grp} as varchar) as series,
                   cast(timezone('{tz}', timezone('UTC', {_q(ts)})) as date) as day,
                   {file_expr} as file
            from {table} where {_q(ts)} is not null and {recent}
        ),
        daily_files as (select series, day, file, count(*) as n from ev group by all),
        daily as (select series, day, cast(sum(n) as bigint) as n from daily_files group by all),
        last_day as (select series, max(day) as day from daily group by series),
        -- per file holding rows of the series' last day: is the day before it the file's
        -- strictly busiest day (a daily export cut on that day, spilling past midnight)?
        last_files as (
            select distinct f.series, f.file from daily_files as f inner join last_day as l using (series, day)
        ),
        file_shape as (
            select f.series, f.file,
                   coalesce(max(f.n) filter (where f.day = l.day - 1), 0) as n_day_before_last,
                   coalesce(max(f.n) filter (where f.day <> l.day - 1), 0) as n_other_days
            from daily_files as f
            inner join last_files as lf on lf.series = f.series and lf.file = f.file
            inner join last_day as l on l.series = f.series
            group by all
        ),
        -- the last day is only the tail past the data's end when every row of it comes from such
        -- files (rows without a file never make it a tail)
        tail as (
            select l.series, l.day
            from last_day as l
            inner join daily_files as f using (series, day)
            left join file_shape as s on s.series = f.series and s.file = f.file
            group by all
            having bool_and(f.file is not null and s.n_day_before_last > s.n_other_days)
        ),
        bounds as (select series, {lo} as lo, max(day) as hi from daily group by series),
        spine as (
            select series, cast(unnest(generate_series(lo, hi, interval 1 day)) as date) as day
            from bounds
        ),
        filled as (
            select s.series, s.day, coalesce(d.n, 0) as n
            from spine as s left join daily as d using (series, day)
        ),
        hist as (
            select series, day, n,
                   median(n) over w as hist_median,
                   count(*) over w as hist_weeks
            from filled
            window w as (partition by series, isodow(day) order by day
                         rows between {weeks} preceding and 1 preceding)
        )
        select series, day, n as row_count, hist_median, hist_weeks,
               n / nullif(hist_median, 0) as ratio_to_same_weekday
        from hist
        where hist_weeks >= {min_weeks} and {judged}
          and not exists (select 1 from tail as t where t.series = hist.series and t.day = hist.day)
        order by series, day
    """
    return _arrow(con, sql, args)


def freshness_frame(
    con, params: dict, since: datetime | None, window_start: date | None = None, table_windows=None
) -> pa.Table:
    """Per source: newest event, and how far it lags the newest source (a feed that stopped)."""
    parts = []
    for source in params["sources"]:
        if not _table_exists(con, source["table"]):
            continue
        series = source.get("series_column")
        label = f"'{source['name']}'" + (f" || '/' || {_q(series)}" if series else "")
        parts.append(
            f"select {label} as source, max({_q(source['event_column'])}) as last_event_ts, "
            f"max(loaded_at) as last_loaded_at, count(*) as rows_loaded "
            f"from {source['table']} group by all"
        )
    if not parts:
        return _arrow(
            con,
            "select null::varchar as source, null::timestamp as last_event_ts, null::double as lag_hours, "
            "null::double as age_hours where false",
        )
    sql = f"""
        with s as ({" union all ".join(parts)})
        select source, last_event_ts, last_loaded_at, rows_loaded,
               date_diff('minute', last_event_ts, max(last_event_ts) over ()) / 60.0 as lag_hours,
               date_diff('minute', last_event_ts, cast(current_timestamp at time zone 'UTC' as timestamp))
                 / 60.0 as age_hours
        from s where last_event_ts is not null order by source
    """
    return _arrow(con, sql)


def published_pii_frame(
    con,
    params: dict,
    since: datetime | None,
    window_start: date | None = None,
    table_windows: dict[str, date | None] | None = None,
) -> pa.Table:
    """One row per text column of every published table: values that look like a phone number.

    A dated table is scanned from `window_start` on (or its own start in `table_windows`)."""
    schema = params.get("schema", "marts")
    exempt = params.get("exempt_values") or {}  # column name -> full-value pattern that is allowed
    rows = []
    tables = con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
    ).fetchall()
    window_col = params.get("window_column")
    # every table's columns in one catalog query (one per table cost ~10 ms CPU each)
    schema_columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position",
        [schema],
    ).fetchall():
        schema_columns.setdefault(table, []).append((column, data_type))
    for (table,) in tables:
        columns = schema_columns.get(table, [])
        text_cols = [c for c, t in columns if t.upper() in ("VARCHAR", "TEXT")]
        if not text_cols:
            continue
        # a dated table is scanned on the report dates this run judges; others whole
        where, args = "", []
        start = table_window(window_start, table_windows or {}, [f"{schema}.{table}"])
        if start is not None and window_col in {c for c, _ in columns}:
            where, args = f" where {_q(window_col)} >= ?", [start]
        selects = []
        for col in text_cols:
            # stripping dates costs a string copy per value: only values with a '-' can hold one
            cleaned = (
                f"case when contains({_q(col)}, '-') "
                f"then regexp_replace({_q(col)}, '{ISO_DATETIME_RE}', '', 'g') else {_q(col)} end"
            )
            cond = f"regexp_matches({cleaned}, '{PHONE_LIKE_RE}')"
            if col in exempt:
                cond += f" and not regexp_full_match({_q(col)}, '{exempt[col]}')"
            # each distinct value is matched once and counted with its rows (text columns repeat a
            # few codes; ~40 % less CPU than matching every row, same counts)
            selects.append(
                f"select {len(selects)} as i, coalesce(sum(n) filter (where {cond}), 0) as n from "
                f"(select {_q(col)}, count(*) as n from {schema}.{_q(table)}{where} group by 1)"
            )
        by_index = dict(con.execute(" union all ".join(selects), args * len(selects)).fetchall())
        counts = [by_index[i] for i in range(len(text_cols))]
        rows += [
            {"table_name": f"{schema}.{table}", "column_name": c, "phone_like_values": int(n)}
            for c, n in zip(text_cols, counts, strict=True)
        ]
    # built in DuckDB: pyarrow building arrays from Python objects would import pandas
    values = ", ".join(["(?, ?, ?)"] * len(rows)) or "(null, null, null)"
    return _arrow(
        con,
        f"select table_name::varchar as table_name, column_name::varchar as column_name, "
        f"phone_like_values::bigint as phone_like_values from (values {values}) "
        f"as t(table_name, column_name, phone_like_values) where table_name is not null",
        params=[v for r in rows for v in (r["table_name"], r["column_name"], r["phone_like_values"])],
    )


def stress_cells_frame(
    con, params: dict, since: datetime | None, window_start: date | None = None, table_windows=None
) -> pa.Table:
    """Published (non-suppressed) cells of every stress mart, with their respondent count."""
    schema = params.get("schema", "marts")
    n_candidates = params.get("n_columns", ["n_respondents", "respondents", "n"])
    parts = []
    for (table,) in con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_name like ?",
        [schema, params.get("table_pattern", "agg_stress%")],
    ).fetchall():
        cols = {c for c, _ in _columns(con, schema, table)}
        n_col = next((c for c in n_candidates if c in cols), None)
        if n_col is None:
            continue  # not a cell table (e.g. test statistics per wave): nothing to count
        if "suppressed" not in cols:  # counts without suppression: fails the not-null check
            parts.append(f"select '{schema}.{table}' as table_name, cast(null as bigint) as n_respondents")
            continue
        parts.append(
            f"select '{schema}.{table}' as table_name, cast({_q(n_col)} as bigint) as n_respondents "
            f"from {schema}.{_q(table)} where not coalesce(suppressed, false)"
        )
    if not parts:
        return _arrow(con, "select null::varchar as table_name, null::bigint as n_respondents where false")
    return _arrow(con, " union all ".join(parts))


FRAMES = {
    "volume": volume_frame,
    "freshness": freshness_frame,
    "published_pii": published_pii_frame,
    "stress_cells": stress_cells_frame,
}


def read_frame(
    con,
    meta: dict,
    since: datetime | None,
    *,
    columns: list[str] | None = None,
    window_start: date | None = None,
    table_windows: dict[str, date | None] | None = None,
) -> tuple[str, pa.Table | pd.DataFrame | None]:
    """(what was read, frame); frame None when the table does not exist.

    The rows a run judges (`suite_scope`), and only ``columns`` when given. Derived frames are
    Arrow tables (judged in DuckDB, converted for GX only when it runs), table frames DataFrames.
    """
    if "frame" in meta:
        gen = FRAMES[meta["frame"]]
        params = meta.get("params") or {}
        return meta.get("target", meta["frame"]), gen(con, params, since, window_start, table_windows or {})
    target = meta.get("table") or meta.get("target", "query")
    tables = [meta["table"]] if "table" in meta else meta.get("requires") or []
    if not all(_table_exists(con, t) for t in tables):
        return target, None
    scope, _ = suite_scope(meta, since, window_start)
    cols = ", ".join(_q(c) for c in columns) if columns else "*"
    return target, con.execute(f"select {cols} from {_source(meta)} where {scope.sql}", scope.args).df()


# --------------------------------------------------------------------------------------------
# pushdown: DuckDB picks the rows GX has to see
#
# A row-level expectation (not null, between, in set, regex, column pair) judges each row on its
# own, and a uniqueness expectation judges each group of rows sharing a key. So GX returns the
# same unexpected counts on a frame that holds every row it would count as unexpected (and every
# row of a key group that repeats) as on the whole table. DuckDB selects those rows with one SQL
# predicate per expectation; each predicate may select more rows than GX counts (e.g. a regex
# that RE2 reads more strictly than Python), never fewer, and GX decides. A clean table gives an
# empty frame; a broken one gives the broken rows, validated in bounded chunks.

ROW_LEVEL = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_pair_values_to_be_equal",
    "expect_column_pair_values_a_to_be_greater_than_b",
}
KEY_LEVEL = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
COMPARISONS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
# Candidate rows above this are validated in several GX runs (hash partitions of the key).
CHUNK_ROWS = 200_000
# Columns kept in a frame so a failure can say which day/file/table failed.
ITEM_COLUMNS = ("series", "day", "source", "table_name", "column_name", "file_path")


@dataclass
class Predicate:
    sql: str
    args: list = field(default_factory=list)


def _and(*preds: Predicate) -> Predicate:
    preds = [p for p in preds if p.sql != "true"]
    if not preds:
        return Predicate("true")
    return Predicate(" and ".join(f"({p.sql})" for p in preds), [a for p in preds for a in p.args])


def _or(*preds: Predicate) -> Predicate:
    if not preds:
        return Predicate("false")
    return Predicate(" or ".join(f"({p.sql})" for p in preds), [a for p in preds for a in p.args])


def referenced_columns(expectation: dict) -> list[str]:
    kw = expectation.get("kwargs", {})
    cols = [kw.get("column"), kw.get("column_A"), kw.get("column_B"), *kw.get("column_list", [])]
    cond = kw.get("row_condition")
    if isinstance(cond, dict):
        cols.append((cond.get("column") or {}).get("name"))
    return [c for c in cols if c]


def _key_columns(expectation: dict) -> list[str]:
    kw = expectation["kwargs"]
    return [kw["column"]] if kw.get("column") else list(kw["column_list"])


def _row_condition(cond: Any) -> Predicate | None:
    if cond is None:
        return Predicate("true")
    if not isinstance(cond, dict) or cond.get("type") != "comparison":
        return None
    op, name = COMPARISONS.get(cond.get("operator")), (cond.get("column") or {}).get("name")
    value = cond.get("parameter")
    if op is None or not name or isinstance(value, (dict, list)) or value is None:
        return None
    return Predicate(f"{_q(name)} {op} ?", [value])


def violation(expectation: dict, types: dict[str, str]) -> Predicate | None:
    """SQL selecting (a superset of) the rows GX counts unexpected; None: not translatable."""
    kind, kw = expectation["type"], expectation.get("kwargs", {})
    if kind not in ROW_LEVEL or "mostly" in kw:
        return None
    if any(isinstance(v, dict) and "$PARAMETER" in v for v in kw.values()):
        return None
    cond = _row_condition(kw.get("row_condition"))
    if cond is None:
        return None
    col = _q(kw["column"]) if kw.get("column") else None
    if kind == "expect_column_values_to_not_be_null":
        nan = f" or isnan({col})" if types.get(kw["column"], "").upper() in FLOAT_TYPES else ""
        pred = Predicate(f"{col} is null{nan}")
    elif kind == "expect_column_values_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        parts = []
        if lo is not None:
            parts.append(Predicate(f"{col} {'<=' if kw.get('strict_min') else '<'} ?", [lo]))
        if hi is not None:
            parts.append(Predicate(f"{col} {'>=' if kw.get('strict_max') else '>'} ?", [hi]))
        pred = _and(Predicate(f"{col} is not null"), _or(*parts))
    elif kind == "expect_column_values_to_be_in_set":
        values = list(kw["value_set"])
        pred = Predicate(f"{col} is not null and {col} not in ({', '.join('?' * len(values))})", values)
        if not values:
            pred = Predicate(f"{col} is not null")
    elif kind == "expect_column_values_to_match_regex":
        pred = Predicate(
            f"{col} is not null and not regexp_matches(cast({col} as varchar), ?)", [kw["regex"]]
        )
    else:
        a, b = _q(kw["column_A"]), _q(kw["column_B"])
        if kind == "expect_column_pair_values_to_be_equal":
            pred = Predicate(f"{a} is distinct from {b}")
        else:
            cmp = "<" if kw.get("or_equal") else "<="
            missing = (
                ""
                if kw.get("ignore_row_if") == "either_value_is_missing"
                else f" or {a} is null or {b} is null"
            )
            pred = Predicate(f"{a} {cmp} {b}{missing}")
    return _and(cond, pred)


# Integer and floating column types whose pandas values compare with a number exactly as in
# DuckDB (DECIMAL and HUGEINT become float64 in pandas: left to GX).
EXACT_NUMERIC_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    "FLOAT", "DOUBLE", "REAL",
}  # fmt: skip
EXACT_TEXT_TYPES = {"VARCHAR", "TEXT"}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def exact_violation(expectation: dict, types: dict[str, str]) -> Predicate | None:
    """SQL selecting exactly the rows GX counts unexpected, for the expectations where DuckDB and
    pandas agree value by value; None for the rest (GX decides those).

    Exact: not-null (NaN is missing to GX, as in `violation`); between on an integer or floating
    column with numeric bounds (nulls and NaN are skipped by GX, so they are excluded here); in-set
    on a text column with text values, or an integer column with integer values. No row
    condition (pandas compares NaN differently), no `mostly`, no parameters. Regexes (RE2 is not
    Python's `re`), column pairs and uniqueness stay with GX.
    """
    kind, kw = expectation["type"], expectation.get("kwargs", {})
    if kind not in ROW_LEVEL or "mostly" in kw or kw.get("row_condition") is not None:
        return None
    if any(isinstance(v, dict) for v in kw.values()):
        return None
    column = kw.get("column")
    col_type = types.get(column or "", "").upper()
    if not column or column not in types:
        return None
    col = _q(column)
    if kind == "expect_column_values_to_not_be_null":
        return violation(expectation, types)
    if kind == "expect_column_values_to_be_between" and col_type in EXACT_NUMERIC_TYPES:
        lo, hi = kw.get("min_value"), kw.get("max_value")
        if not all(v is None or _is_number(v) for v in (lo, hi)) or (lo is None and hi is None):
            return None
        present = Predicate(
            f"{col} is not null" + (f" and not isnan({col})" if col_type in FLOAT_TYPES else "")
        )
        return _and(present, violation(expectation, types))
    if kind == "expect_column_values_to_be_in_set":
        values = list(kw.get("value_set") or [])
        text = col_type in EXACT_TEXT_TYPES and all(isinstance(v, str) for v in values)
        whole = (
            col_type in EXACT_NUMERIC_TYPES - FLOAT_TYPES
            and values
            and all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        )
        return violation(expectation, types) if text or whole else None
    return None


def _key_hash(cols: list[str]) -> str:
    return f"hash({', '.join(_q(c) for c in cols)})"


def duplicated_keys(expectation: dict, source: str, scope: Predicate, universe: Predicate) -> Predicate:
    """Rows whose key repeats within `universe`, for keys that occur in `scope`.

    Keys are compared by their 64-bit hash: a collision only adds rows to the frame, and GX then
    compares the values themselves.
    """
    cols = _key_columns(expectation)
    h = _key_hash(cols)
    # GX ignores rows whose key is missing (single column: null; compound: all null)
    present = " or ".join(f"{_q(c)} is not null" for c in cols)
    in_scope = (
        "" if scope.sql == universe.sql else f" and {h} in (select {h} from {source} where {scope.sql})"
    )
    args = universe.args + (scope.args if in_scope else [])
    return Predicate(
        f"({present}) and {h} in (select {h} from {source} where ({universe.sql}){in_scope} "
        f"group by all having count(*) > 1)",
        args,
    )


@dataclass
class FramePart:
    """Expectations validated together on the rows `select columns from source where where`."""

    expectations: list[dict]
    where: Predicate
    rows_checked: int = 0
    candidates: int = 0
    partition: list[str] = field(default_factory=list)  # key columns chunks are split by
    # expectations DuckDB counts exactly (`exact_violation`), each with its violating rows in scope:
    # their results need no GX run
    exact: list[tuple[dict, Predicate]] = field(default_factory=list)


def plan_pushdown(
    con, source: str, types: dict[str, str], expectations: list[dict], scope: Predicate, universe: Predicate
) -> list[FramePart] | None:
    """Split a suite into frame parts selected in SQL; None when an expectation needs every row."""
    rows, keys, row_preds, key_preds, exact = [], [], [], [], []
    for exp in expectations:
        present = all(c in types for c in referenced_columns(exp))
        if exp["type"] in KEY_LEVEL and "mostly" not in exp.get("kwargs", {}):
            keys.append(exp)
            if present:
                key_preds.append(duplicated_keys(exp, source, scope, universe))
            continue
        pred = violation(exp, types) if present else Predicate("false")  # GX reports the missing column
        if pred is None:
            return None
        counted = exact_violation(exp, types) if present else None
        if counted is not None:
            exact.append((exp, _and(scope, counted)))
            continue
        rows.append(exp)
        row_preds.append(pred)
    parts = []
    if exact:
        parts.append(FramePart([e for e, _ in exact], _and(scope, _or(*(p for _, p in exact))), exact=exact))
    key_sets = {tuple(_key_columns(e)) for e in keys}
    partition = list(next(iter(key_sets))) if len(key_sets) == 1 else []
    if not rows and not keys:
        return parts
    if scope.sql == universe.sql or not keys:  # one frame: every candidate is judged by every check
        return [*parts, FramePart(rows + keys, _and(scope, _or(*row_preds, *key_preds)), partition=partition)]
    # keys repeat across the whole table but rows are judged only in scope: two frames, so a row
    # outside the scope that shares a key is not judged by the row-level checks
    if rows:
        parts.append(FramePart(rows, _and(scope, _or(*row_preds))))
    return [*parts, FramePart(keys, _and(universe, _or(*key_preds)), partition=partition)]


# --------------------------------------------------------------------------------------------
# which rows a run judges


def last_clean_check(con, suite_names: list[str], also_blocking: tuple[str, ...] = ()) -> datetime | None:
    """When these suites last ran with no blocking failure (marts.dq_results), if ever.

    ``also_blocking``: other suites of the same run whose failure makes it unclean too.
    """
    if not suite_names or not _table_exists(con, "marts.dq_results"):
        return None
    marks = ", ".join("?" * len(suite_names))
    failing = suite_names + list(also_blocking)
    return con.execute(
        f"""
        select max(checked_at) from marts.dq_results
        where suite in ({marks})
          and run_id not in (
              select run_id from marts.dq_results
              where suite in ({", ".join("?" * len(failing))}) and not success and severity = '{BLOCK}'
          )
        """,
        suite_names + failing,
    ).fetchone()[0]


def raw_judged_since(con, since: datetime | None, suite_names: list[str]) -> datetime | None:
    """Raw rows loaded from here on are judged: this run's, and those of runs since the last
    clean raw check (a rerun after a blocking failure judges the failed rows again)."""
    if since is None:
        return None
    mark = last_clean_check(con, suite_names)
    return since if mark is None else min(since, mark)


def dbt_lineage(manifest: Path, built_since: datetime | None = None) -> dict[str, frozenset[str]] | None:
    """Upstream dbt sources of every model, as `schema.name` relations, from a dbt manifest.

    None when the manifest is missing, unreadable, or older than ``built_since`` (not written by
    this run's dbt: a model may have gained a source since): callers then assume every source
    feeds every table.
    """
    try:
        written = datetime.fromtimestamp(manifest.stat().st_mtime, UTC).replace(tzinfo=None)
        if built_since is not None and written < built_since:  # both naive UTC
            return None
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sources = {
        k: f"{v['schema']}.{v.get('identifier') or v['name']}" for k, v in doc.get("sources", {}).items()
    }
    parents = {k: (v.get("depends_on") or {}).get("nodes", []) for k, v in doc.get("nodes", {}).items()}
    upstream: dict[str, frozenset[str]] = {}

    def sources_of(node: str) -> frozenset[str]:
        if node in sources:
            return frozenset([sources[node]])
        if node not in upstream:
            upstream[node] = frozenset()  # a cycle cannot occur in dbt; guards the recursion anyway
            upstream[node] = frozenset(s for p in parents.get(node, []) for s in sources_of(p))
        return upstream[node]

    lineage = {}
    for key, node in doc.get("nodes", {}).items():
        if node.get("resource_type") in ("model", "seed", "snapshot"):
            lineage[f"{node['schema']}.{node.get('alias') or node['name']}"] = sources_of(key)
    return lineage


def default_manifest(warehouse: Path) -> Path | None:
    """The manifest `callcenter build`'s dbt step writes for the instance holding `warehouse`."""
    from callcenter.config import Paths
    from callcenter.pipeline import dbt_paths

    paths = Paths(warehouse.parent.parent)
    return dbt_paths(paths)[0] / "manifest.json" if paths.warehouse == warehouse else None


def marts_window_start(con, config: dict, since: datetime | None, suite_names: list[str]) -> date | None:
    """First report date the mart checks of this run judge with no dbt lineage known (a loaded
    roster's dates then apply to every mart); None: every date. See `marts_window`."""
    return marts_window(con, config, since, suite_names)[0]


def marts_window(
    con,
    config: dict,
    since: datetime | None,
    suite_names: list[str],
    lineage: dict[str, frozenset[str]] | None = None,
) -> tuple[date | None, dict[str, date | None]]:
    """(first report date the mart checks of this run judge, None: every date; the first date of
    the tables built from a source that says itself which dates its new rows change).

    Marts are judged on the report dates that raw rows loaded after the last clean mart check
    can have changed (the dates they fall on, less a look-back for rolling metrics like FCR),
    so the cost of a new day does not grow with history, and a rerun after a failed check judges
    the failed rows again. Every date when no start is given (a full check) or when no clean check
    is recorded. A loaded `source_touched` table (the roster) gives its own earliest date for the
    tables downstream of it in the dbt `lineage` (for every table when the lineage is not known);
    a `whole_history_sources` table makes them judged on every date.
    """
    inc = config.get("incremental") or {}
    if since is None or not inc:
        return None, {}
    # a run whose dbt build failed judged marts that lacked its rows: not a clean mark
    mark = last_clean_check(con, suite_names, also_blocking=("dbt",))
    if mark is None:
        return None, {}
    back = timedelta(days=int(inc.get("lookback_days", 8)) + 1)  # local dates lie within a day of UTC

    def loaded(table: str) -> bool:
        return _table_exists(con, table) and bool(
            con.execute(
                f"select count(*) from (select 1 from {table} where loaded_at > ? limit 1)", [mark]
            ).fetchone()[0]
        )

    # source -> first report date its new rows can change in the tables built from it (None: every)
    own: dict[str, date | None] = {t: None for t in inc.get("whole_history_sources") or [] if loaded(t)}
    for table, query in (inc.get("source_touched") or {}).items():
        if loaded(table):
            value = con.execute(query, [mark]).fetchone()[0]
            value = value.date() if isinstance(value, datetime) else value
            own[table] = None if value is None or value - date.min <= back else value - back
    earliest = []
    for query in inc.get("earliest_touched") or []:
        try:
            value = con.execute(query, [mark]).fetchone()[0]
        except duckdb.CatalogException:  # a source not loaded yet
            continue
        if value is not None:
            earliest.append(value.date() if isinstance(value, datetime) else value)
    # nothing loaded since the last clean check: no mart row can have changed
    start = min(earliest) - back if earliest else date.max
    if lineage is None:  # which tables a source feeds is not known: its dates apply to every table
        return _earliest(start, *own.values()), {}
    tables: dict[str, date | None] = {}
    for source, first in own.items():
        for rel in (rel for rel, sources in lineage.items() if source in sources):
            tables[rel] = _earliest(tables.get(rel, date.max), first)
    return start, tables


def _earliest(*starts: date | None) -> date | None:
    """The earliest of some first dates judged (None: every date)."""
    return None if any(s is None for s in starts) else min(starts)


def table_window(start: date | None, table_windows: dict[str, date | None], tables) -> date | None:
    """First report date judged of a suite or frame reading `tables`."""
    return _earliest(start, *(table_windows[t] for t in tables if t in table_windows))


def suite_scope(meta: dict, since: datetime | None, window_start: date | None) -> tuple[Predicate, Predicate]:
    """(rows judged, rows a key may repeat among) for a table or query suite."""
    since_col = meta.get("since_column") if since is not None else None
    if since_col:  # raw: the rows this run loaded
        scope = Predicate(f"{_q(since_col)} >= ?", [since])
        return scope, scope
    if meta.get("window_column") and window_start is not None:
        if window_start == date.max:
            return Predicate("false"), Predicate("true")
        return Predicate(f"{_q(meta['window_column'])} >= ?", [window_start]), Predicate("true")
    return Predicate("true"), Predicate("true")


def _source(meta: dict) -> str:
    return meta["table"] if "table" in meta else f"({meta['query']}) as frame"


# --------------------------------------------------------------------------------------------
# GX


def _gx_context(docs_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.get_config().data_docs_sites or {}):
        context.delete_data_docs_site(site)
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(
            site_name="dq_docs",
            site_config={
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def _observed(result: dict) -> str | None:
    if "observed_value" in result:
        return json.dumps(result["observed_value"], default=str)
    return None


def _failing_items(frame: pd.DataFrame, expectation: dict) -> list[dict]:
    """Which rows of a small derived frame failed (day, source, column), for the alert text."""
    import pandas as pd

    kw = expectation["kwargs"]
    col = kw.get("column")
    if col is None or col not in frame.columns or len(frame) > 5000:
        return []
    values = frame[col]
    bad = pd.Series(False, index=frame.index)
    if kw.get("min_value") is not None:
        bad |= values < kw["min_value"]
    if kw.get("max_value") is not None:
        bad |= values > kw["max_value"]
    keys = [
        c for c in frame.columns if c in ("series", "day", "source", "table_name", "column_name", "file_path")
    ]
    return frame.loc[bad.fillna(False), keys + [col]].head(20).astype(str).to_dict("records")


@dataclass
class _Outcome:
    """One expectation's result summed over the GX runs (chunks, parts) of a suite."""

    success: bool = True
    unexpected: int | None = None
    observed: str | None = None
    details: list[str] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)


class _Validator:
    """Runs GX on frames; one validation definition per suite part, reused for every chunk."""

    def __init__(self, docs_dir: Path | None):
        self.context = _gx_context(docs_dir)
        self.datasource = self.context.data_sources.add_pandas(name="warehouse")
        self.result_format = {"result_format": "SUMMARY", "exclude_unexpected_values": True}

    def definition(self, name: str, expectations: list[dict], meta: dict):
        import great_expectations as gx

        suite = self.context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations, meta=meta))
        batch = self.datasource.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("whole")
        return self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )

    def run(self, definition, frame: pd.DataFrame, by_check: dict[str, dict], outcomes: dict[str, _Outcome]):
        validation = definition.run(batch_parameters={"dataframe": frame}, result_format=self.result_format)
        for er in validation.results:
            check = er.expectation_config.meta.get("check")
            out = outcomes.setdefault(check, _Outcome())
            exc = er.exception_info or {}
            raised = exc.get("raised_exception") or any(
                isinstance(v, dict) and v.get("raised_exception") for v in exc.values()
            )
            res = er.result or {}
            if raised or (not er.success and not res):
                msgs = [exc.get("exception_message")] + [
                    v.get("exception_message") for v in exc.values() if isinstance(v, dict)
                ]
                detail = "could not evaluate: " + "; ".join(m for m in msgs if m)[:500]
                if detail not in out.details:
                    out.details.append(detail)
            out.success = out.success and bool(er.success)
            if res.get("unexpected_count") is not None:
                out.unexpected = (out.unexpected or 0) + int(res["unexpected_count"])
            out.observed = _observed(res) or out.observed
            if not er.success and len(out.items) < 20:
                out.items += _failing_items(frame, by_check[check])[: 20 - len(out.items)]


def _frame_columns(types: dict[str, str], expectations: list[dict]) -> list[str]:
    wanted = {c for e in expectations for c in referenced_columns(e)} | set(ITEM_COLUMNS)
    return [c for c in types if c in wanted]  # table order, like the full frame had


def _pushdown_frames(con, source: str, columns: list[str], part: FramePart):
    """The part's candidate rows: one frame, or hash partitions of at most ~CHUNK_ROWS rows."""
    select = f"select {', '.join(_q(c) for c in columns) or '1 as _row'} from {source}"
    if part.candidates == 0:  # still validated: GX records the run, and empty frames keep dtypes
        yield con.execute(f"{select} limit 0").df()
        return
    chunks = -(-part.candidates // CHUNK_ROWS)
    if chunks == 1:
        yield con.execute(f"{select} where {part.where.sql}", part.where.args).df()
        return
    # a repeated key hashes to one partition, so uniqueness is judged whole within each chunk
    by = _key_hash(part.partition or columns)
    for i in range(chunks):
        yield con.execute(
            f"{select} where ({part.where.sql}) and {by} % {chunks} = {i}", part.where.args
        ).df()


def run_suites(
    warehouse: Path,
    run_id: str,
    *,
    docs_dir: Path | None = None,
    since: datetime | None = None,
    config_path: Path = CHECKS_CONFIG,
    suites_dir: Path = SUITES_DIR,
    layers: set[str] | None = None,
    pushdown: bool = True,
    manifest: Path | None = None,
) -> QualityReport:
    """Validate every suite; returns one CheckResult per expectation (plus table-missing checks).

    ``since``: start of the run that loaded new raw rows. Raw suites then judge the rows loaded
    since; mart suites the report dates those rows can have changed (`marts_window_start`).
    None: every row of every table. ``pushdown=False`` hands GX every judged row (the reference
    the preselection is tested against). ``manifest``: the dbt manifest naming which marts a
    loaded roster can change (default: the one this instance's dbt build wrote, if written since
    ``since``; without one, a loaded roster makes every mart judged on every date).
    """
    config = load_config(config_path)
    required = set(config.get("required_tables") or [])
    validator: _Validator | None = None

    def validators() -> _Validator:  # GX is imported only when some suite has rows for it
        nonlocal validator
        if validator is None:
            validator = _Validator(docs_dir)
        return validator

    results: list[CheckResult] = []
    suites = [
        s for s in load_suites(suites_dir) if layers is None or (s.get("meta") or {}).get("layer") in layers
    ]
    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute("set enable_progress_bar = false")
    con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
    try:
        mart_suites = [s["name"] for s in suites if (s.get("meta") or {}).get("layer") == "marts"]
        window_start, table_windows = None, {}
        if mart_suites:
            manifest = manifest or default_manifest(Path(warehouse))
            lineage = dbt_lineage(manifest, built_since=since) if manifest and since else None
            window_start, table_windows = marts_window(con, config, since, mart_suites, lineage)
        if window_start is not None:
            log.info(
                "mart checks judge report dates from %s%s",
                window_start,
                "".join(f"; {t} from {d or 'every date'}" for t, d in sorted(table_windows.items(), key=str)),
            )
        raw_suites = [s["name"] for s in suites if (s.get("meta") or {}).get("layer") == "raw"]
        raw_since = raw_judged_since(con, since, raw_suites)
        for spec in suites:
            name, meta = spec["name"], spec.get("meta") or {}
            suite_alert = (config.get("suites") or {}).get(name, {}).get("alert")
            expectations = []
            for exp in spec["expectations"]:
                check = check_name(exp)
                sev = severity_for(config, name, check)
                exp = dict(exp, meta=dict(exp.get("meta") or {}, check=check, severity=sev))
                exp["severity"] = "critical" if sev == BLOCK else "warning"
                expectations.append(exp)
            by_check = {e["meta"]["check"]: e for e in expectations}
            tables = {meta.get("table")} | set(meta.get("requires") or [])
            suite_window = table_window(window_start, table_windows, tables)
            validated = _validate_suite(
                con,
                validators,
                name,
                meta,
                expectations,
                by_check,
                raw_since,
                suite_window,
                pushdown,
                table_windows,
            )
            if validated is None:
                target = meta.get("table") or meta.get("target", "query")
                sev = BLOCK if target in required else WARN
                results.append(
                    CheckResult(name, target, "table_exists", sev, False, details=f"{target} does not exist")
                )
                continue
            target, rows_checked, outcomes = validated
            for exp in expectations:
                check = exp["meta"]["check"]
                out = outcomes.get(check, _Outcome())
                results.append(
                    CheckResult(
                        suite=name,
                        table_name=target,
                        check_name=check,
                        severity=exp["meta"]["severity"],
                        success=out.success,
                        observed_value=out.observed,
                        unexpected_count=out.unexpected,
                        rows_checked=rows_checked,
                        details="; ".join(out.details),
                        alert_kind=suite_alert,
                        failing_items=[] if out.success else out.items,
                    )
                )
        docs_index = None
        if docs_dir is not None and validator is not None:
            validator.context.build_data_docs(site_names=["dq_docs"])
            docs_index = docs_dir / "index.html"
        elif docs_dir is not None and (docs_dir / "index.html").exists():
            docs_index = docs_dir / "index.html"  # every check passed in DuckDB: the last docs stand
    finally:
        con.close()
    return QualityReport(run_id, results, docs_index)


DERIVED_VIEW = "_derived_frame"
# Up to this many candidate rows are read to name what failed (day, source, column) in the alert,
# the same limit `_failing_items` applies to a GX frame.
ITEM_FRAME_ROWS = 5000


def _count_exactly(con, source: str, columns: list[str], part: FramePart, by_check, outcomes) -> None:
    """Results of the expectations DuckDB counts exactly: the unexpected count GX would return,
    failing items from the same candidate rows a GX frame would hold, and no GX run."""
    # every counted predicate implies part.where; as a WHERE, its scope (`loaded_at >= ?` for raw
    # rows) prunes the scan to the rows loaded since instead of every row of history
    counts = con.execute(
        f"select {', '.join(f'count(*) filter (where {p.sql})' for _, p in part.exact)} "
        f"from {source} where {part.where.sql}",
        [a for _, p in part.exact for a in p.args] + part.where.args,
    ).fetchone()
    small = part.candidates <= ITEM_FRAME_ROWS  # a GX frame this size would name its failing rows
    for (exp, _), n in zip(part.exact, counts, strict=True):
        check = exp["meta"]["check"]
        items = _failing_items_sql(con, source, columns, part.where, by_check[check]) if n and small else []
        outcomes[check] = _Outcome(success=n == 0, unexpected=int(n), items=items)


def _failing_items_sql(
    con, source: str, columns: list[str], where: Predicate, expectation: dict
) -> list[dict]:
    """`_failing_items` of the frame `select columns from source where where`, read in DuckDB:
    the first 20 rows out of range, with the frame's key columns, as text."""
    kw = expectation["kwargs"]
    col = kw.get("column")
    if col is None or col not in columns:
        return []
    bounds = [(op, kw[k]) for op, k in (("<", "min_value"), (">", "max_value")) if kw.get(k) is not None]
    if not bounds:
        return []
    keys = [c for c in columns if c in ITEM_COLUMNS] + [col]
    out_of_range = " or ".join(f"{_q(col)} {op} ?" for op, _ in bounds)
    cur = con.execute(
        f"select {', '.join(_q(c) for c in keys)} from {source} where ({where.sql}) and ({out_of_range}) limit 20",
        [*where.args, *(v for _, v in bounds)],
    )
    return [dict(zip(keys, map(str, row), strict=True)) for row in cur.fetchall()]


def _validate_suite(
    con,
    validators,
    name,
    meta,
    expectations,
    by_check,
    since,
    window_start,
    pushdown=True,
    table_windows=None,
):
    """(target, rows judged, outcome per check), or None when the suite's table does not exist.

    ``validators()`` gives the GX validator, created (GX imported) only when a suite needs it.
    """
    outcomes: dict[str, _Outcome] = {}
    derived = None
    if "frame" in meta:  # small derived frames: judged in DuckDB the same way, from a view on them
        target, derived = read_frame(con, meta, since, window_start=window_start, table_windows=table_windows)
        con = con.cursor()  # a fresh cursor: duckdb 2.0 refuses work while a result is unfinished
        con.register(DERIVED_VIEW, derived)
        source, (scope, universe) = DERIVED_VIEW, (Predicate("true"), Predicate("true"))
    else:
        target = meta.get("table") or meta.get("target", "query")
        tables = [meta["table"]] if "table" in meta else meta.get("requires") or []
        if not all(_table_exists(con, t) for t in tables):
            return None
        source = _source(meta)
        scope, universe = suite_scope(meta, since, window_start)
    try:
        types = dict(
            con.execute(f"select column_name, column_type from (describe select * from {source})").fetchall()
        )
        columns = _frame_columns(types, expectations) if derived is None else list(types)
        plan = plan_pushdown(con, source, types, expectations, scope, universe) if pushdown else None
        if plan is not None:
            try:
                rows_checked = con.execute(
                    f"select count(*) from {source} where {scope.sql}", scope.args
                ).fetchone()[0]
                for part in plan:
                    part.candidates = con.execute(
                        f"select count(*) from {source} where {part.where.sql}", part.where.args
                    ).fetchone()[0]
            except duckdb.Error as e:  # e.g. a value set of another type than the column
                log.warning("%s: checks not pushed down to DuckDB (%s); GX reads every row", name, e)
                plan = None
        if plan is not None:
            for i, part in enumerate(plan):
                if part.exact:
                    _count_exactly(con, source, columns, part, by_check, outcomes)
                    continue
                missing = any(c not in types for e in part.expectations for c in referenced_columns(e))
                if part.candidates == 0 and not missing:
                    # DuckDB found no row any of these expectations could fail on: they pass with
                    # 0 unexpected, exactly what GX returns on such a frame, without its overhead
                    for e in part.expectations:
                        outcomes[e["meta"]["check"]] = _Outcome(unexpected=0)
                    continue
                definition = validators().definition(
                    name if i == 0 else f"{name}.{i}", part.expectations, {**meta, "target": target}
                )
                for frame in _pushdown_frames(con, source, columns, part):
                    validators().run(definition, frame, by_check, outcomes)
            return target, rows_checked, outcomes
    finally:
        if derived is not None:
            con.close()
    # suites whose expectations need every row (and the whole-frame reference)
    if derived is None:
        wanted = columns if pushdown else None
        target, frame = read_frame(con, meta, since, columns=wanted, window_start=window_start)
    else:
        frame = derived.to_pandas()
    definition = validators().definition(name, expectations, {**meta, "target": target})
    validators().run(definition, frame, by_check, outcomes)
    return target, len(frame), outcomes


# --------------------------------------------------------------------------------------------
# result tables (marts.dq_*), read by the data-quality dashboard

DQ_RESULTS_DDL = """
create table if not exists marts.dq_results (
    run_id varchar, checked_at timestamp, suite varchar, table_name varchar, check_name varchar,
    severity varchar, success boolean, observed_value varchar, unexpected_count bigint,
    rows_checked bigint, details varchar
)
"""


def write_results(con: duckdb.DuckDBPyConnection, report: QualityReport, checked_at: datetime) -> int:
    """Append this run's results to marts.dq_results (history is kept: one row per run x check)."""
    from callcenter.alerts import mask_personal_data

    con.execute("create schema if not exists marts")
    con.execute(DQ_RESULTS_DDL)
    suites = sorted({r.suite for r in report.results})
    if suites:  # a rerun replaces its own rows; other steps of the same run keep theirs
        con.execute(
            f"delete from marts.dq_results where run_id = ? and suite in ({', '.join('?' * len(suites))})",
            [report.run_id, *suites],
        )
    rows = []
    for r in report.results:
        d = mask_personal_data(r.as_row())
        details = d["details"]
        if r.failing_items:
            details = (details + " " if details else "") + json.dumps(
                mask_personal_data(r.failing_items), default=str
            )
        rows.append(
            (
                report.run_id,
                checked_at,
                d["suite"],
                d["table_name"],
                d["check_name"],
                d["severity"],
                d["success"],
                d["observed_value"],
                d["unexpected_count"],
                d["rows_checked"],
                details[:2000],
            )
        )
    # one statement per 500 rows: DuckDB's executemany runs a statement per row (~2 s for 240 rows)
    for start in range(0, len(rows), 500):
        batch = rows[start : start + 500]
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(batch))
        con.execute(f"insert into marts.dq_results values {values}", [v for row in batch for v in row])
    return len(rows)
