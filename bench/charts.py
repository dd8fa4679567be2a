"""Replay the dashboards' chart queries against the serving snapshot.

Each chart of dashboards/bundle becomes the SQL Superset issues for it: the dataset's table,
saved metrics expanded to their expressions, x-axis with its time grain, groupby, WHERE/HAVING
filters, ordering and row limit. Every query runs on a fresh read-only connection (as Superset
opens one per query), 20 times; we keep median and p90 of the whole, and the median of each
phase: open (DuckDB builds a database instance, ~30 ms CPU whatever the file), execute (planning
and the query on a cold buffer pool), fetch (rows into Python objects: HUGEINT values are slow)
and close, plus the process CPU time per run (steadier than wall time on a shared machine).
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from callcenter.config import REPO_ROOT

BUNDLE = REPO_ROOT / "dashboards" / "bundle"
TIME_GRAINS = {"P1D": "day", "P1W": "week", "P1M": "month", "P3M": "quarter", "P1Y": "year", "PT1H": "hour"}
SIMPLE_OPERATORS = {"==": "=", "!=": "<>", ">": ">", "<": "<", ">=": ">=", "<=": "<="}


@dataclass
class ChartQuery:
    dashboard: str
    chart: str
    viz_type: str
    table: str
    sql: str


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column(name: str, dataset: dict) -> str:
    """A dataset column as Superset selects it: a calculated column's expression, else the column."""
    for c in dataset.get("columns") or []:
        if c["column_name"] == name and c.get("expression"):
            return f"({c['expression']})"
    return _ident(name)


def _literal(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _load_datasets() -> dict[str, dict]:
    out = {}
    for f in (BUNDLE / "datasets").rglob("*.yaml"):
        d = yaml.safe_load(f.read_text())
        out[d["uuid"]] = d
    return out


def _metric_sql(metric, dataset: dict) -> tuple[str, str]:
    """(expression, label) for a saved metric name or an adhoc metric."""
    if isinstance(metric, str):
        for m in dataset.get("metrics") or []:
            if m["metric_name"] == metric:
                return m["expression"], metric
        raise KeyError(f"metric {metric!r} not in dataset {dataset['table_name']}")
    label = metric.get("label") or "metric"
    if metric.get("expressionType") == "SQL":
        return metric["sqlExpression"], label
    column = metric["column"]["column_name"]
    return f"{metric['aggregate'].lower()}({_ident(column)})", label


def _filters(params: dict) -> tuple[list[str], list[str]]:
    where, having = [], []
    for f in params.get("adhoc_filters") or []:
        target = having if f.get("clause") == "HAVING" else where
        if f.get("expressionType") == "SQL":
            target.append(f"({f['sqlExpression']})")
            continue
        op, col, value = f.get("operator"), f.get("subject"), f.get("comparator")
        if op == "TEMPORAL_RANGE":
            if value and value != "No filter":
                raise ValueError(f"time range {value!r} not supported by the replay")
            continue  # "No filter": Superset adds no condition
        if op in SIMPLE_OPERATORS:
            target.append(f"{_ident(col)} {SIMPLE_OPERATORS[op]} {_literal(value)}")
        elif op in ("IN", "NOT IN"):
            target.append(f"{_ident(col)} {op.lower()} ({', '.join(map(_literal, value))})")
        elif op in ("IS NULL", "IS NOT NULL"):
            target.append(f"{_ident(col)} {op.lower()}")
        else:
            raise ValueError(f"filter operator {op!r} not supported by the replay")
    return where, having


def _as_list(v) -> list:
    if v is None or v == "":
        return []
    return list(v) if isinstance(v, list | tuple) else [v]


def chart_sql(params: dict, dataset: dict) -> str:
    """The SELECT Superset runs for one chart (its query shape, not its exact text)."""
    table = f"{_ident(dataset['schema'])}.{_ident(dataset['table_name'])}"
    where, having = _filters(params)
    limit = int(params.get("row_limit") or 10000)
    if params.get("query_mode") == "raw":
        cols = ", ".join(
            _ident(c) if _column(c, dataset) == _ident(c) else f"{_column(c, dataset)} as {_ident(c)}"
            for c in params["all_columns"]
        )
        order = []
        for item in params.get("order_by_cols") or []:
            col, asc = json.loads(item)
            order.append(f"{_column(col, dataset)} {'asc' if asc else 'desc'}")
        sql = f"select {cols} from {table}"
        sql += f" where {' and '.join(where)}" if where else ""
        sql += f" order by {', '.join(order)}" if order else ""
        return sql + f" limit {limit}"

    dims: list[tuple[str, str]] = []
    x_axis = params.get("x_axis")
    if x_axis:
        grain = TIME_GRAINS.get(params.get("time_grain_sqla") or "")
        expr = f"date_trunc('{grain}', {_column(x_axis, dataset)})" if grain else _column(x_axis, dataset)
        dims.append((expr, x_axis))
    for col in _as_list(params.get("groupby")) + _as_list(params.get("columns")):
        dims.append((_column(col, dataset), col))
    metrics = [
        _metric_sql(m, dataset) for m in _as_list(params.get("metrics")) + _as_list(params.get("metric"))
    ]
    select = [f"{e} as {_ident(label)}" for e, label in dims + metrics]
    sql = f"select {', '.join(select)} from {table}"
    sql += f" where {' and '.join(where)}" if where else ""
    if dims:
        sql += " group by " + ", ".join(e for e, _ in dims)
    sql += f" having {' and '.join(having)}" if having else ""
    sort_metric = params.get("timeseries_limit_metric")
    if sort_metric:
        sql += f" order by {_metric_sql(sort_metric, dataset)[0]} desc"
    elif x_axis:
        sql += f" order by {dims[0][0]}"
    elif dims and metrics:
        sql += f" order by {metrics[0][0]} desc"
    return sql + f" limit {limit}"


def dashboard_queries() -> list[ChartQuery]:
    datasets = _load_datasets()
    out = []
    for f in sorted((BUNDLE / "charts").rglob("*.yaml")):
        chart = yaml.safe_load(f.read_text())
        ds = datasets[chart["dataset_uuid"]]
        out.append(
            ChartQuery(
                dashboard=f.parent.name,
                chart=f.stem,
                viz_type=chart["viz_type"],
                table=ds["table_name"],
                sql=chart_sql(chart["params"], ds),
            )
        )
    return out


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p90 of 20 runs = the 18th fastest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(round(q * len(ordered), 9))))
    return ordered[rank - 1]


def connect_baseline(serving: Path, runs: int = 20) -> dict:
    """What a fresh read-only connection plus `select 1` costs: the floor under every chart query."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        con = duckdb.connect(str(serving), read_only=True)
        con.execute("select 1").fetchall()
        con.close()
        times.append(time.perf_counter() - t0)
    return {
        "runs": runs,
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p90_ms": round(_pct(times, 0.9) * 1000, 2),
    }


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _ms(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1000, 2) if values else None


def replay(serving: Path, runs: int = 20) -> list[dict]:
    results = []
    for q in dashboard_queries():
        times, rows, error = [], None, None
        phases: dict[str, list[float]] = {"open": [], "execute": [], "fetch": [], "close": [], "cpu": []}
        for _ in range(runs):
            c0, t0 = _cpu_s(), time.perf_counter()
            try:
                con = duckdb.connect(str(serving), read_only=True)
                t1 = time.perf_counter()
                result = con.execute(q.sql)
                t2 = time.perf_counter()
                rows = len(result.fetchall())
                t3 = time.perf_counter()
                con.close()
            except duckdb.Error as e:
                error = f"{type(e).__name__}: {e}".splitlines()[0][:300]
                break
            t4 = time.perf_counter()
            times.append(t4 - t0)
            for phase, seconds in zip(
                ("open", "execute", "fetch", "close"), (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True
            ):
                phases[phase].append(seconds)
            phases["cpu"].append(_cpu_s() - c0)
        results.append(
            {
                "dashboard": q.dashboard,
                "chart": q.chart,
                "viz_type": q.viz_type,
                "table": q.table,
                "rows": rows,
                "runs": len(times),
                "median_ms": round(statistics.median(times) * 1000, 2) if times else None,
                "p90_ms": round(_pct(times, 0.9) * 1000, 2) if times else None,
                "median_phase_ms": {k: _ms(v) for k, v in phases.items() if k != "cpu"},
                "median_cpu_ms": _ms(phases["cpu"]),
                "error": error,
                "sql": q.sql,
            }
        )
    return results
