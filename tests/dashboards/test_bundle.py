"""The import bundle: complete, consistent, locked down, and runnable against the marts (no Superset needed)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest
import yaml
from dash_serving_fixture import build_serving_fixture

from dashboards import generate_bundle
from dashboards.superset import bootstrap

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "dashboards" / "bundle"
SLUGS = {
    "executive_overview": "运营总览",
    "service_level": "服务水平",
    "agent_performance": "坐席绩效与排班",
    "customer_experience": "客户体验",
    "stress_survey": "员工压力",
    "data_quality": "数据质量",
}
# marshmallow ImportV1*Schema required keys (Superset 6.1)
REQUIRED = {
    "databases": {"database_name", "sqlalchemy_uri", "uuid", "version"},
    "datasets": {"table_name", "uuid", "version", "database_uuid"},
    "charts": {"slice_name", "viz_type", "uuid", "version", "dataset_uuid"},
    "dashboards": {"dashboard_title", "uuid", "version"},
}


def load(kind: str) -> dict[str, dict]:
    return {
        p.relative_to(BUNDLE).as_posix(): yaml.safe_load(p.read_text())
        for p in (BUNDLE / kind).rglob("*.yaml")
    }


@pytest.fixture(scope="module")
def serving(tmp_path_factory) -> Path:
    return build_serving_fixture(tmp_path_factory.mktemp("bundle") / "serving.duckdb")


def test_committed_bundle_is_what_the_generator_writes():
    assert generate_bundle.main(["--check"]) == 0


def test_no_file_the_importer_would_silently_skip():
    skipped = [
        p.name for p in BUNDLE.rglob("*") if p.is_file() and (p.name[0] in "._" or p.suffix != ".yaml")
    ]
    assert skipped == []
    assert yaml.safe_load((BUNDLE / "metadata.yaml").read_text())["version"] == "1.0.0"


def test_required_keys_and_unique_uuids():
    seen: dict[str, str] = {}
    for kind, keys in REQUIRED.items():
        files = load(kind)
        assert files, f"no {kind}"
        for name, config in files.items():
            assert keys <= config.keys(), f"{name} lacks {keys - config.keys()}"
            assert config["uuid"] not in seen, f"{name} reuses the uuid of {seen.get(config['uuid'])}"
            seen[config["uuid"]] = name


def test_six_dashboards_with_chinese_and_english_titles_and_resolvable_references():
    datasets = {c["uuid"] for c in load("datasets").values()}
    charts = {c["uuid"]: c for c in load("charts").values()}
    dashboards = {c["slug"]: c for c in load("dashboards").values()}
    assert set(dashboards) == set(SLUGS)
    for slug, zh in SLUGS.items():
        d = dashboards[slug]
        assert d["dashboard_title"].startswith(zh) and re.search("[A-Za-z]{4}", d["dashboard_title"])
        chart_nodes = [n for n in d["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"]
        assert len(chart_nodes) >= 4, slug
        for node in chart_nodes:
            chart = charts[node["meta"]["uuid"]]  # KeyError = dangling chart reference
            assert chart["dataset_uuid"] in datasets
            assert re.search("[\u4e00-\u9fff]", chart["slice_name"]) and re.search(
                "[A-Za-z]{2}", chart["slice_name"]
            )
        filters = d["metadata"]["native_filter_configuration"]
        for f in filters:
            for target in f["targets"]:
                assert target == {} or target["datasetUuid"] in datasets
        kinds = {f["filterType"] for f in filters}
        names = " ".join(f["name"] for f in filters)
        if slug not in ("stress_survey",):
            assert "filter_time" in kinds, slug
        if slug in ("executive_overview", "service_level", "customer_experience"):
            assert "Queue" in names and "Site" in names
        if slug == "agent_performance":
            assert "Team" in names and "Site" in names


def test_rate_metrics_are_ratios_of_sums_with_glossary_descriptions():
    ratios = 0
    for name, ds in load("datasets").items():
        for metric in ds["metrics"]:
            assert "docs/metrics.md" in metric["description"], (name, metric["metric_name"])
            assert re.search("[\u4e00-\u9fff]", metric["verbose_name"]), metric["metric_name"]
            expr = metric["expression"]
            if expr.startswith("sum(") and "/ nullif(sum(" in expr:
                ratios += 1
                assert re.fullmatch(r"sum\((\w+)\)( \* 100\.0)? / nullif\(sum\((\w+)\), 0\)", expr), expr
            assert not re.search(r"\bavg\(\w*(rate|sl|pct)", expr), f"averaging a rate: {expr}"
    assert ratios >= 30


def test_target_lines_come_from_the_queue_config_seed():
    rows = list(csv.DictReader((REPO / "dbt" / "seeds" / "queue_config.csv").open(encoding="utf-8")))
    sl_target = max(float(r["sl_target"]) for r in rows)
    asa_target = min(float(r["asa_target_s"]) for r in rows)
    charts = load("charts")
    sl_lines = charts["charts/executive_overview/exec_sl_trend.yaml"]["params"]["annotation_layers"]
    asa_lines = charts["charts/executive_overview/exec_asa_trend.yaml"]["params"]["annotation_layers"]
    assert [(a["annotationType"], float(a["value"])) for a in sl_lines] == [("FORMULA", sl_target)]
    assert [(a["annotationType"], float(a["value"])) for a in asa_lines] == [("FORMULA", asa_target)]


def test_every_metric_and_chart_column_runs_against_the_marts(serving: Path):
    """Each dataset's columns exist, each metric expression is valid SQL on the contract tables."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        for name, ds in load("datasets").items():
            table = f"marts.{ds['table_name']}"
            actual = {r[0] for r in con.execute(f"describe {table}").fetchall()}
            declared = {c["column_name"] for c in ds["columns"]}
            assert declared <= actual, f"{name}: missing {declared - actual}"
            for metric in ds["metrics"]:
                con.execute(f"select {metric['expression']} from {table}").fetchall()
        datasets = {c["uuid"]: c for c in load("datasets").values()}
        for name, chart in load("charts").items():
            columns = {c["column_name"] for c in datasets[chart["dataset_uuid"]]["columns"]}
            metrics = {m["metric_name"] for m in datasets[chart["dataset_uuid"]]["metrics"]}
            p = chart["params"]
            used = set(p.get("all_columns", [])) | set(p.get("columns") or [])
            used |= {
                p[k] for k in ("x_axis", "groupby") if isinstance(p.get(k), str)
            }  # heatmap: groupby is one column
            used |= set(p["groupby"]) if isinstance(p.get("groupby"), list) else set()
            assert used <= columns, f"{name}: unknown columns {used - columns}"
            wanted = set(p.get("metrics") or []) | ({p["metric"]} if "metric" in p else set())
            assert wanted <= metrics, f"{name}: unknown metrics {wanted - metrics}"
            for f in p["adhoc_filters"]:
                if f["expressionType"] == "SQL":
                    table = f"marts.{datasets[chart['dataset_uuid']]['table_name']}"
                    clause = "having" if f["clause"] == "HAVING" else "where"
                    group = " group by all" if clause == "having" else ""
                    con.execute(f"select 1 from {table}{group} {clause} {f['sqlExpression']}").fetchall()
    finally:
        con.close()


def test_database_is_templated_and_locked_down(tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    contents = bootstrap.read_bundle(BUNDLE, serving)
    db = yaml.safe_load(contents["databases/serving.yaml"])
    assert db["sqlalchemy_uri"] == f"duckdb:///{serving}"
    assert "${" not in (BUNDLE / "databases" / "serving.yaml").read_text().replace("${SERVING_DB_PATH}", "")


@pytest.mark.parametrize(
    "loosen",
    [
        lambda d: d["extra"]["engine_params"]["connect_args"].update(read_only=False),
        lambda d: d["extra"]["engine_params"]["connect_args"]["config"].update(enable_external_access=True),
        lambda d: d["extra"]["engine_params"]["connect_args"]["config"].pop("lock_configuration"),
        lambda d: d["extra"]["engine_params"]["connect_args"]["config"].update(
            autoinstall_known_extensions=True
        ),
        lambda d: d.update(allow_dml=True),
        lambda d: d.update(allow_file_upload=True),
        lambda d: d.update(allow_ctas=True),
        lambda d: d.update(sqlalchemy_uri=d["sqlalchemy_uri"] + "?enable_external_access=true"),
    ],
    ids=["read_write", "external_access", "unlocked", "autoinstall", "dml", "upload", "ctas", "uri_query"],
)
def test_a_loosened_database_file_is_refused(tmp_path: Path, loosen):
    bundle = tmp_path / "bundle"
    for p in BUNDLE.rglob("*.yaml"):
        (bundle / p.relative_to(BUNDLE)).parent.mkdir(parents=True, exist_ok=True)
        (bundle / p.relative_to(BUNDLE)).write_text(p.read_text())
    db_file = bundle / "databases" / "serving.yaml"
    config = yaml.safe_load(db_file.read_text())
    loosen(config)
    db_file.write_text(yaml.safe_dump(config))
    with pytest.raises(bootstrap.BundleError, match="refusing to import a loosened connection"):
        bootstrap.read_bundle(bundle, tmp_path / "serving.duckdb")


def test_metric_descriptions_quote_the_glossary():
    entries = generate_bundle.glossary_entries()
    quoted = 0
    for ds in load("datasets").values():
        for metric in ds["metrics"]:
            column = re.match(r"sum\((\w+)\)", metric["expression"])
            if column and column.group(1) in entries and "nullif" in metric["expression"]:
                assert entries[column.group(1)][1] in metric["description"], metric["metric_name"]
                quoted += 1
    assert quoted >= 15  # SL variants, answer/abandon rate, ASA, AHT, occupancy, adherence, CSAT, NPS...


def test_calculated_columns_run_and_return_bigint(serving: Path):
    """Datasets may select a column through an expression (the scorecard's HUGEINT sums as bigint:
    converting HUGEINT to Python ints made its 1,000-row fetch several times slower)."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        found = 0
        for name, ds in load("datasets").items():
            for column in ds["columns"]:
                if column["expression"]:
                    found += 1
                    result = con.execute(
                        f"select {column['expression']} as v from marts.{ds['table_name']}"
                    ).fetchall()
                    assert result, name
                    if "as bigint" in column["expression"]:
                        (kind,) = con.execute(
                            f"select typeof({column['expression']}) from marts.{ds['table_name']} limit 1"
                        ).fetchone()
                        assert kind == "BIGINT", (name, column["column_name"])
        assert found >= 3
    finally:
        con.close()
