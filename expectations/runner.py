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
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

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


def volume_frame(con, params: dict, since: datetime | None) -> pd.DataFrame:
    """Rows per local day against the median of the same weekday in the preceding weeks."""
    table, ts = params["table"], params["ts_column"]
    tz = params.get("time_zone", "Asia/Shanghai")
    weeks = int(params.get("history_weeks", 4))
    min_weeks = int(params.get("min_history_weeks", 2))
    series = params.get("series_column")
    grp = _q(series) if series else "'all'"
    # Only the days that received new rows in this run are judged: an old anomaly must not
    # alert (or block) again on every later build.
    judged = "true"
    args: list[Any] = []
    if since is not None and params.get("loaded_at_column", "loaded_at"):
        judged = (
            f"day in (select distinct cast(timezone('{tz}', timezone('UTC', {_q(ts)})) as date) "
            f"from {table} where {_q(params.get('loaded_at_column', 'loaded_at'))} >= ?)"
        )
        args.append(since)
    sql = f"""
        with ev as (
            select cast({grp} as varchar) as series,
                   cast(timezone('{tz}', timezone('UTC', {_q(ts)})) as date) as day
            from {table} where {_q(ts)} is not null
        ),
        daily as (select series, day, count(*) as n from ev group by all),
        bounds as (select series, min(day) as lo, max(day) as hi from daily group by series),
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
        order by series, day
    """
    return con.execute(sql, args).df()


def freshness_frame(con, params: dict, since: datetime | None) -> pd.DataFrame:
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
        return pd.DataFrame(columns=["source", "last_event_ts", "lag_hours", "age_hours"])
    sql = f"""
        with s as ({" union all ".join(parts)})
        select source, last_event_ts, last_loaded_at, rows_loaded,
               date_diff('minute', last_event_ts, max(last_event_ts) over ()) / 60.0 as lag_hours,
               date_diff('minute', last_event_ts, cast(current_timestamp at time zone 'UTC' as timestamp))
                 / 60.0 as age_hours
        from s where last_event_ts is not null order by source
    """
    return con.execute(sql).df()


def published_pii_frame(con, params: dict, since: datetime | None) -> pd.DataFrame:
    """One row per text column of every published table: values that look like a phone number."""
    schema = params.get("schema", "marts")
    exempt = params.get("exempt_values") or {}  # column name -> full-value pattern that is allowed
    rows = []
    tables = con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
    ).fetchall()
    for (table,) in tables:
        text_cols = [c for c, t in _columns(con, schema, table) if t.upper() in ("VARCHAR", "TEXT")]
        if not text_cols:
            continue
        selects = []
        for col in text_cols:
            cleaned = f"regexp_replace({_q(col)}, '{ISO_DATETIME_RE}', '', 'g')"
            cond = f"regexp_matches({cleaned}, '{PHONE_LIKE_RE}')"
            if col in exempt:
                cond += f" and not regexp_full_match({_q(col)}, '{exempt[col]}')"
            selects.append(f"count(*) filter (where {cond}) as {_q(col)}")
        counts = con.execute(f"select {', '.join(selects)} from {schema}.{_q(table)}").fetchone()
        rows += [
            {"table_name": f"{schema}.{table}", "column_name": c, "phone_like_values": int(n)}
            for c, n in zip(text_cols, counts, strict=True)
        ]
    return pd.DataFrame(rows, columns=["table_name", "column_name", "phone_like_values"])


def stress_cells_frame(con, params: dict, since: datetime | None) -> pd.DataFrame:
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
        return pd.DataFrame({"table_name": pd.Series(dtype=str), "n_respondents": pd.Series(dtype="Int64")})
    return con.execute(" union all ".join(parts)).df()


FRAMES = {
    "volume": volume_frame,
    "freshness": freshness_frame,
    "published_pii": published_pii_frame,
    "stress_cells": stress_cells_frame,
}


def read_frame(con, meta: dict, since: datetime | None) -> tuple[str, pd.DataFrame | None]:
    """(what was read, frame); frame None when the table does not exist."""
    # Row-level suites on raw data judge what this run loaded (`since_column` >= run start); the
    # whole table when no start is given (a full check, e.g. --skip-ingest or a manual run).
    since_col = meta.get("since_column") if since is not None else None
    where, args = (f" where {_q(since_col)} >= ?", [since]) if since_col else ("", [])
    if "table" in meta:
        if not _table_exists(con, meta["table"]):
            return meta["table"], None
        return meta["table"], con.execute(f"select * from {meta['table']}{where}", args).df()
    if "query" in meta:
        target = meta.get("target", "query")
        if meta.get("requires") and not all(_table_exists(con, t) for t in meta["requires"]):
            return target, None
        return target, con.execute(f"select * from ({meta['query']}) as frame{where}", args).df()
    gen = FRAMES[meta["frame"]]
    return meta.get("target", meta["frame"]), gen(con, meta.get("params") or {}, since)


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


def run_suites(
    warehouse: Path,
    run_id: str,
    *,
    docs_dir: Path | None = None,
    since: datetime | None = None,
    config_path: Path = CHECKS_CONFIG,
    suites_dir: Path = SUITES_DIR,
    layers: set[str] | None = None,
) -> QualityReport:
    """Validate every suite; returns one CheckResult per expectation (plus table-missing checks)."""
    import great_expectations as gx

    config = load_config(config_path)
    required = set(config.get("required_tables") or [])
    result_format = {"result_format": "SUMMARY", "exclude_unexpected_values": True}
    context = _gx_context(docs_dir)
    datasource = context.data_sources.add_pandas(name="warehouse")
    results: list[CheckResult] = []
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for spec in load_suites(suites_dir):
            name, meta = spec["name"], spec.get("meta") or {}
            if layers is not None and meta.get("layer") not in layers:
                continue
            suite_alert = (config.get("suites") or {}).get(name, {}).get("alert")
            target, frame = read_frame(con, meta, since)
            if frame is None:
                sev = BLOCK if target in required else WARN
                results.append(
                    CheckResult(name, target, "table_exists", sev, False, details=f"{target} does not exist")
                )
                continue
            expectations = []
            for exp in spec["expectations"]:
                check = check_name(exp)
                sev = severity_for(config, name, check)
                exp = dict(exp, meta=dict(exp.get("meta") or {}, check=check, severity=sev))
                exp["severity"] = "critical" if sev == BLOCK else "warning"
                expectations.append(exp)
            suite = context.suites.add(
                gx.ExpectationSuite(name=name, expectations=expectations, meta={**meta, "target": target})
            )
            batch = datasource.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("whole")
            vd = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
            validation = vd.run(batch_parameters={"dataframe": frame}, result_format=result_format)
            by_id = {e["meta"]["check"]: e for e in expectations}
            for er in validation.results:
                cfg = er.expectation_config
                check = cfg.meta.get("check")
                exc = er.exception_info or {}
                raised = exc.get("raised_exception") or any(
                    isinstance(v, dict) and v.get("raised_exception") for v in exc.values()
                )
                res = er.result or {}
                details = ""
                if raised or (not er.success and not res):
                    msgs = [exc.get("exception_message")] + [
                        v.get("exception_message") for v in exc.values() if isinstance(v, dict)
                    ]
                    details = "could not evaluate: " + "; ".join(m for m in msgs if m)[:500]
                results.append(
                    CheckResult(
                        suite=name,
                        table_name=target,
                        check_name=check,
                        severity=cfg.meta.get("severity", BLOCK),
                        success=bool(er.success),
                        observed_value=_observed(res),
                        unexpected_count=res.get("unexpected_count"),
                        rows_checked=len(frame),
                        details=details,
                        alert_kind=suite_alert,
                        failing_items=[] if er.success else _failing_items(frame, by_id[check]),
                    )
                )
        docs_index = None
        if docs_dir is not None:
            context.build_data_docs(site_names=["dq_docs"])
            docs_index = docs_dir / "index.html"
    finally:
        con.close()
    return QualityReport(run_id, results, docs_index)


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
    if rows:
        con.executemany("insert into marts.dq_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
