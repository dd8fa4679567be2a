"""Targets and the BENCHMARKS.md rendering, both computed from the results JSON only.

Hand-written analysis (why a target is missed, which model, what was fixed) lives in
bench/FINDINGS.md and is included verbatim, so regenerating never loses it.
"""

from __future__ import annotations

import json
from pathlib import Path

FINDINGS = Path(__file__).with_name("FINDINGS.md")
PIPELINE_STEPS = ["ingest", "dbt_build", "checks", "publish"]
TARGETS = {  # issue 9, on these 2 cores
    "end_to_end_s": 60.0,
    "peak_rss_mb": 3 * 1024.0,
    "dbt_vs_sql": 1.5,
    "pandas_vs_ours": 4.0,
    "new_day_s": 5.0,
    "new_day_growth": 1.5,
    "chart_p90_ms": 50.0,
}


DASHBOARDS_RESULT = "dashboards.json"  # the warm renders (bench/render.py), one per run, not per size
RENDER_BUDGET_S = 3.0  # issue 8: every chart of a dashboard drawn within 3 s, warm, on the demo data


def evaluate_dashboards(result: dict) -> list[dict]:
    """The render budget on the slowest dashboard's median warm open, and that open against the
    reference (a dashboard without charts, same run and browser) as a ratio."""
    slowest = max(d["median_s"] for d in result["dashboards"].values())
    return [
        {
            "key": "warm_render_s",
            "what": "slowest dashboard, median warm render (s)",
            "target": f"<= {RENDER_BUDGET_S:g}",
            "measured": slowest,
            "met": slowest <= RENDER_BUDGET_S,
            "note": "navigation to every chart drawn, chart data from Superset's cache",
        },
        {
            "key": "warm_render_vs_reference",
            "what": "slowest dashboard / dashboard without charts",
            "target": "–",
            "measured": round(slowest / result["reference"]["median_s"], 2),
            "met": None,
            "note": "what our charts add to Superset's own frontend",
        },
    ]


def _s(result: dict, step: str) -> float:
    return result["steps"][step]["seconds"]


def derived(result: dict) -> dict:
    steps = result["steps"]
    e2e = sum(_s(result, s) for s in PIPELINE_STEPS)
    inc = result.get("incremental", {})
    long_s = inc.get("long_history", {}).get("seconds")
    short_s = inc.get("short_history", {}).get("seconds")
    p90s = [c["p90_ms"] for c in result.get("charts", []) if c.get("p90_ms") is not None]
    return {
        "end_to_end_s": round(e2e, 3),
        "peak_rss_mb": max(steps[s]["peak_rss_mb"] for s in PIPELINE_STEPS),
        "dbt_vs_sql": round(_s(result, "dbt_build") / _s(result, "reference_sql"), 2),
        "ingest_dbt_vs_sql": round(
            (_s(result, "ingest") + _s(result, "dbt_build")) / _s(result, "reference_sql"), 2
        ),
        "pandas_vs_ours": round(
            _s(result, "reference_pandas") / (_s(result, "ingest") + _s(result, "dbt_build")), 2
        ),
        "pandas_vs_dbt": round(_s(result, "reference_pandas") / _s(result, "dbt_build"), 2),
        "end_to_end_vs_anchor": round(e2e / _s(result, "anchor_parse"), 1),
        "new_day_s": long_s,
        "new_day_growth": round(long_s / short_s, 2) if long_s and short_s else None,
        "chart_p90_ms": max(p90s) if p90s else None,
        "charts_over_target": sum(p > TARGETS["chart_p90_ms"] for p in p90s),
        "chart_errors": sum(1 for c in result.get("charts", []) if c.get("error")),
    }


def evaluate(result: dict) -> list[dict]:
    d = derived(result)
    rows = [
        ("end_to_end_s", "ingest → dbt build → checks → publish (s)", "<=", "set for 10M contacts"),
        ("peak_rss_mb", "peak RSS of any pipeline step (MB)", "<=", ""),
        ("dbt_vs_sql", "dbt build / hand-written SQL", "<=", "SQL reference includes its CSV load"),
        ("pandas_vs_ours", "pandas / (ingest + dbt build)", ">=", "both sides load the landing files"),
        ("new_day_s", "one new day, callcenter build end to end (s)", "<=", "a day without periodic exports"),
        (
            "new_day_growth",
            f"new day after a year / after {result.get('incremental', {}).get('short_history', {}).get('history_days', '?')} days",
            "<=",
            "flat = within 1.5x",
        ),
        ("chart_p90_ms", "slowest chart query p90 (ms)", "<=", "fresh read-only connection per run"),
    ]
    out = []
    for key, what, op, note in rows:
        value, target = d.get(key), TARGETS[key]
        met = None if value is None else (value <= target if op == "<=" else value >= target)
        out.append(
            {
                "key": key,
                "what": what,
                "target": f"{op} {target:g}",
                "measured": value,
                "met": met,
                "note": note,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# rendering


def _fmt(v, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return lines


def load_results(folder: Path, prefix: str = "contacts_") -> list[dict]:
    files = [p for p in sorted(folder.glob(f"{prefix}*.json")) if not p.name.endswith(DASHBOARDS_RESULT)]
    return sorted((json.loads(p.read_text()) for p in files), key=lambda r: r["simulation"]["contacts"])


def load_dashboards(folder: Path, smoke: bool = False) -> dict | None:
    path = folder / f"{'smoke_' if smoke else ''}{DASHBOARDS_RESULT}"
    return json.loads(path.read_text()) if path.is_file() else None


def _render_section(d: dict) -> list[str]:
    ref = d["reference"]
    out = [
        "## Dashboard renders (warm opens in Superset and chromium, demo data)",
        "",
        f"Run at commit {d['machine'].get('git_commit')}, {d['started_at']} → {d['finished_at']}, load "
        f"average at start {d['loadavg_start'][0]:.1f}, at end {d['loadavg_end'][0]:.1f}. Demo data as "
        f"`make demo` makes it: {d['days']} days from {d['start']}, seed {d['seed']}, built and served by "
        "its own Superset. Each dashboard is opened once as the executive to fill Superset's cache, then "
        f"{len(ref['opens_s'])} times more in the same persistent chromium profile on a 1920×1080 screen; "
        "the time runs from navigation to every chart drawn, those below the fold too "
        "(bench/render.py). The reference is a dashboard without charts opened the same way in the "
        "same run: Superset's own frontend, before any chart of ours.",
        "",
    ]
    rows = [
        [
            "reference: no charts",
            0,
            ref["median_s"],
            ", ".join(f"{x:.2f}" for x in ref["opens_s"]),
            "1.00",
            ref["median_browser_cpu_s"],
            ref["median_server_cpu_s"],
        ]
    ]
    for slug, x in sorted(d["dashboards"].items(), key=lambda kv: -kv[1]["median_s"]):
        mark = " ✅" if x["median_s"] <= RENDER_BUDGET_S else " ❌"
        rows.append(
            [
                slug,
                x["charts"],
                f"{x['median_s']:.2f}{mark}",
                ", ".join(f"{v:.2f}" for v in x["opens_s"]),
                f"{x['vs_reference']:.2f}",
                x["median_browser_cpu_s"],
                x["median_server_cpu_s"],
            ]
            + ([] if x["all_from_cache"] else ["**not all from cache**"])
        )
    out += _table(
        [
            "dashboard",
            "charts",
            "median s",
            "warm opens (s)",
            "× reference",
            "chromium CPU s",
            "Superset CPU s",
        ],
        rows,
    )
    out += [""]
    for t in d["targets"]:
        mark = {True: "met", False: "**missed**", None: "reported"}[t["met"]]
        out.append(f"- {t['what']}: {_fmt(t['measured'])} (target {t['target']}): {mark}. {t['note']}.")
    return out + [""]


def render(results: list[dict], dashboards: dict | None = None) -> str:
    if not results:
        body = _render_section(dashboards) if dashboards else ["No results yet: run `make bench`.", ""]
        return "\n".join(["# Benchmarks", "", *body])
    labels = [r["label"] for r in results]
    m = results[-1]["machine"]
    out = [
        "# Benchmarks",
        "",
        "Generated by `callcenter bench` (`make bench`) from `bench/results/*.json` — do not edit by hand;",
        "the analysis section comes from `bench/FINDINGS.md`. Each step runs as its own process; time is",
        "wall clock, peak RSS is the step's process tree (`wait4`). Targets are issue 9's, for 2 cores.",
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB RAM, {m['os']}, Python {m['python']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
    ]
    for r in results:
        shared = (
            " — **machine shared with other jobs; times are inflated**"
            if r["loadavg_start"][0] > m["cores"]
            else ""
        )
        out.append(
            f"- {r['label']} run at commit {r['machine'].get('git_commit')}, {r['started_at']} → {r['finished_at']}: load average at start "
            f"{r['loadavg_start'][0]:.1f}, at end {r['loadavg_end'][0]:.1f}{shared}"
        )
    out += ["", "## Data", ""]
    out += _table(
        ["", *labels],
        [
            ["contacts", *[r["simulation"]["contacts"] for r in results]],
            ["segments", *[r["simulation"]["segments"] for r in results]],
            ["agents", *[r["simulation"]["agents"] for r in results]],
            ["agent state rows", *[r["simulation"]["agent_state_rows"] for r in results]],
            ["days (simulate --days / --scale)", *[f"{r['days']} / {r['scale']:g}" for r in results]],
            ["landing files of the full build", *[r["history"]["files"] for r in results]],
            ["landing MB", *[round(r["history"]["bytes"] / 1e6, 1) for r in results]],
        ],
    )
    out += ["", "## Targets", ""]
    header = ["target", "goal", *labels, "note"]
    rows = []
    for i, t in enumerate(results[0]["targets"]):
        cells = []
        for r in results:
            tt = r["targets"][i]
            mark = {True: " ✅", False: " ❌", None: ""}[tt["met"]]
            cells.append(f"{_fmt(tt['measured'])}{mark}")
        rows.append([t["what"], t["target"], *cells, t["note"]])
    out += _table(header, rows)

    out += ["", "## Steps (wall seconds (CPU seconds), ratio to the anchor's full parse, peak RSS)", ""]
    names = [
        ("anchor_count", "anchor: DuckDB count(*) of the landing segments"),
        ("anchor_parse", "anchor: DuckDB full parse of every column"),
        ("reference_sql", "reference: hand-written DuckDB SQL (load + KPIs)"),
        ("reference_pandas", "reference: pandas, analyst style (load + KPIs)"),
        ("ingest", "ours: ingest (all landing feeds → raw)"),
        ("dbt_build", "ours: dbt build (models + tests + unit tests)"),
        ("checks", "ours: quality gates (GX suites + dbt results)"),
        ("publish", "ours: publish the serving snapshot"),
    ]
    rows = []
    for key, what in names:
        row = [what]
        for r in results:
            s = r["steps"][key]
            ratio = s["seconds"] / r["steps"]["anchor_parse"]["seconds"]
            row.append(
                f"{s['seconds']:.2f} s (CPU {s['cpu_seconds']:.1f} s) · {ratio:.1f}× · {s['peak_rss_mb']:,.0f} MB"
            )
        rows.append(row)
    rows.append(
        ["**ours end to end**"]
        + [
            f"**{derived(r)['end_to_end_s']:.2f} s · {derived(r)['end_to_end_vs_anchor']:.1f}× · "
            f"{derived(r)['peak_rss_mb']:,.0f} MB**"
            for r in results
        ]
    )
    out += _table(["step", *labels], rows)
    out += ["", "Ratios between ours and the references:", ""]
    out += _table(
        ["ratio", *labels],
        [
            ["dbt build / SQL reference", *[derived(r)["dbt_vs_sql"] for r in results]],
            ["(ingest + dbt build) / SQL reference", *[derived(r)["ingest_dbt_vs_sql"] for r in results]],
            ["pandas / (ingest + dbt build)", *[derived(r)["pandas_vs_ours"] for r in results]],
            ["pandas / dbt build", *[derived(r)["pandas_vs_dbt"] for r in results]],
        ],
    )

    out += ["", "## Ingest: where the time goes (per landing source, from raw.file_manifest)", ""]
    for r in results:
        by_source = r["steps"]["ingest"]["facts"].get("by_source")
        if not by_source:
            out += [f"**{r['label']}**: not recorded in this run.", ""]
            continue
        out.append(f"**{r['label']}**")
        out.append("")
        out += _table(
            ["source", "reader", "files", "rows read", "seconds"],
            [[s["source"], s["format"], s["files"], s["rows_read"], s["seconds"]] for s in by_source],
        )
        out.append("")

    out += ["## dbt full build: where the time goes", ""]
    for r in results:
        p = r.get("dbt_full_build") or {}
        if not p:
            continue
        by_type = ", ".join(f"{k} {v:.1f} s" for k, v in p["seconds_by_type"].items())
        out += [
            f"**{r['label']}**: dbt elapsed {p['elapsed_s']:.1f} s over {p['nodes']} nodes (summed node time: {by_type}).",
            "",
        ]
        out += _table(["slowest node", "seconds"], [[f"`{n['node']}`", n["seconds"]] for n in p["slowest"]])
        out.append("")

    out += ["## One more day (incremental `callcenter build`)", ""]
    rows = []
    for r in results:
        inc = r.get("incremental", {})
        for key, what in (
            ("long_history", "after the full history"),
            ("export_day", "then the day of periodic exports"),
            ("short_history", "after a short history"),
        ):
            x = inc.get(key)
            if not x:
                continue
            steps = ", ".join(f"{k} {v:.1f}" for k, v in (x["facts"].get("steps") or {}).items())
            rows.append(
                [
                    r["label"],
                    f"{what} ({x['history_days']} days)",
                    x["day"],
                    ", ".join(x.get("feeds", [])) or "?",
                    x["seconds"],
                    x["peak_rss_mb"],
                    steps,
                ]
            )
    out += _table(
        ["size", "history", "new day", "feeds landed", "seconds", "peak RSS MB", "pipeline steps (s)"], rows
    )

    out += ["", "## Dashboard chart queries (fresh read-only connection, median / p90 ms)", ""]
    for r in results:
        charts = r.get("charts", [])
        base = r.get("connect_baseline", {})
        d = derived(r)
        out.append(
            f"**{r['label']}**: {len(charts)} chart queries, {charts[0]['runs'] if charts else 0} runs each; "
            f"slowest p90 {_fmt(d['chart_p90_ms'])} ms; {d['charts_over_target']} over 50 ms; "
            f"{d['chart_errors']} errors. Connection alone (open + `select 1` + close): median "
            f"{_fmt(base.get('median_ms'))} ms, p90 {_fmt(base.get('p90_ms'))} ms."
        )
        out.append("")
        slow = sorted((c for c in charts if c.get("p90_ms") is not None), key=lambda c: -c["p90_ms"])[:10]
        out += _table(
            ["dashboard / chart", "table", "rows", "median ms", "p90 ms"],
            [
                [f"{c['dashboard']} / {c['chart']}", c["table"], c["rows"], c["median_ms"], c["p90_ms"]]
                for c in slow
            ],
        )
        errors = [c for c in charts if c.get("error")]
        out += [f"- error in {c['dashboard']} / {c['chart']}: {c['error']}" for c in errors]
        out.append("")

    if dashboards:
        out += _render_section(dashboards)

    out += ["## Do the numbers agree? (KPI totals over the whole history)", ""]
    for r in results:
        k = r["kpi_totals"]
        keys = [
            "offered",
            "sl_num",
            "sl_den",
            "asa_num",
            "asa_den",
            "handled",
            "handle_s",
            "fcr_num",
            "fcr_den",
        ]
        out.append(f"**{r['label']}**")
        out.append("")
        out += _table(
            ["source", *keys],
            [
                [name, *[(k.get(name) or {}).get(x) for x in keys]]
                for name in ("reference_sql", "reference_pandas", "marts")
            ],
        )
        out.append("")
    if FINDINGS.exists():
        out += ["## Findings", "", FINDINGS.read_text().strip(), ""]
    return "\n".join(out) + "\n"


def write_markdown(results: list[dict], path: Path, dashboards: dict | None = None) -> Path:
    path.write_text(render(results, dashboards))
    return path
