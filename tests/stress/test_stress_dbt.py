"""dbt-level test: build the stress models on a temporary DuckDB with a small seeded survey.

One build covers two instruments: the 20-item stress survey and a PSS-10 wave whose only addition
is the example dictionary from docs/stress-instruments/ appended to the seeds (no code change).
The build runs every dbt test of the stress models, including the privacy tests in
dbt/tests/stress/ (published n >= 5, complementary suppression, no response-level columns).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pingouin as pg
import pytest
from factor_analyzer.factor_analyzer import calculate_kmo

from callcenter.config import data_paths
from callcenter.publish import build_snapshot

from .conftest import REPO, item_dictionary, write_raw
from .synthetic import make_pss_wave, make_wave

pytestmark = pytest.mark.slow

DBT = Path(sys.executable).parent / "dbt"
EXAMPLES = REPO / "docs" / "stress-instruments"
STRESS_MARTS = {
    "agg_stress_wave", "agg_stress_dimension", "agg_stress_item", "agg_stress_reliability",
    "agg_stress_group_tests", "agg_stress_workload", "agg_stress_workload_correlation",
}  # fmt: skip


def _append_rows(seed: Path, example: Path) -> None:
    with example.open(encoding="utf-8") as src, seed.open("a", encoding="utf-8", newline="") as dst:
        rows = list(csv.reader(src))[1:]
        csv.writer(dst, lineterminator="\n").writerows(rows)


def _dbt(project: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, CALLCENTER_DATA_DIR=str(data_dir))
    return subprocess.run(
        [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("stress_dbt")
    project = root / "dbt"
    shutil.copytree(REPO / "dbt", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    _append_rows(project / "seeds" / "stress_items.csv", EXAMPLES / "pss10_items.csv")
    _append_rows(project / "seeds" / "stress_instruments.csv", EXAMPLES / "pss10_instruments.csv")
    data_dir = root / "instance"
    db = data_dir / "warehouse" / "warehouse.duckdb"
    responses, answers, waves = make_wave(item_dictionary())
    with (EXAMPLES / "pss10_items.csv").open(encoding="utf-8") as fh:
        pss_r, pss_a, pss_w = make_pss_wave(list(csv.DictReader(fh)))
    write_raw(db, responses + pss_r, answers + pss_a, waves + pss_w)
    result = _dbt(
        project, data_dir, "build", "--select", "tag:stress", "--vars", "{stress_workload_from_marts: false}"
    )
    return {"db": db, "result": result, "project": project, "data_dir": data_dir}


def _query(warehouse, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse["db"]), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_build_passes_every_stress_test(warehouse):
    result = warehouse["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for privacy_test in (
        "assert_stress_published_cells_meet_min_n",
        "assert_stress_complementary_suppression_holds",
        "assert_stress_marts_hold_no_response_level_columns",
    ):
        assert f"PASS {privacy_test}" in result.stdout


def test_response_level_tables_stay_out_of_marts(warehouse):
    tables = _query(warehouse, "select table_schema, table_name from information_schema.tables")
    marts = set(tables.loc[tables["table_schema"] == "marts", "table_name"])
    assert {t for t in marts if "stress" in t} == STRESS_MARTS
    intermediate = set(tables.loc[tables["table_schema"] == "intermediate", "table_name"])
    assert {"int_stress_answers_scored", "int_stress_dimension_scores_averaged"} <= intermediate


def test_no_stress_table_carries_an_agent_id(warehouse):
    cols = _query(
        warehouse,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_name like '%stress%' and table_schema <> 'raw'",
    )
    assert len(cols) > 0
    assert not cols["column_name"].str.contains("agent_id|agent_name", regex=True).any()


def test_serving_snapshot_holds_only_stress_aggregates(warehouse):
    # The real publisher: copies schema marts only, refuses response-level columns.
    snapshot = build_snapshot(data_paths(warehouse["data_dir"]), "stress-test")
    con = duckdb.connect(str(snapshot.path), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        stress_cols = con.execute(
            "select column_name from information_schema.columns where table_name like 'agg_stress%'"
        ).fetchall()
    finally:
        con.close()
        snapshot.path.unlink()
    assert {schema for schema, _ in tables} == {"marts"}
    assert {t for _, t in tables if "stress" in t} == STRESS_MARTS
    assert not {c for (c,) in stress_cols} & {"response_id", "answer", "score", "dimension_score", "comment"}


def test_wave_accounting(warehouse):
    wave = _query(warehouse, "select * from marts.agg_stress_wave where grouping = 'all'").set_index("wave")
    main = wave.loc["2026Q3"]
    assert (main["distributed"], main["returned"]) == (66, 60)
    # Respondent 24 skipped two items, respondent 30 answered six: 58 complete of 60.
    assert (main["completion_num"], main["completion_den"]) == (58, 60)
    # Only respondent 12 straight-lines; respondent 30's six identical answers are too few to count.
    assert main["straightlined"] == 1
    assert main["comments"] == 10 and not main["comments_suppressed"]
    assert (wave.loc["2026Q4-PSS", "returned"], wave.loc["2026Q4-PSS", "distributed"]) == (30, 32)
    flagged = _query(
        warehouse, "select response_id, is_straightlined from intermediate.int_stress_responses_flagged"
    )
    flags = flagged.set_index("response_id")["is_straightlined"]
    assert flags["2026Q3-0012"] and not flags["2026Q3-0030"]


def test_planted_effects_are_recovered(warehouse):
    tests = _query(warehouse, "select * from marts.agg_stress_group_tests where wave = '2026Q3'")
    tenure = tests[tests["grouping"] == "tenure_band"]
    assert len(tenure) == 5 and (tenure["test"] == "anova").all()
    assert tenure["significant"].all() and (tenure["highest_group"] == "6-12m").all()
    jc = tests[(tests["grouping"] == "project_group") & (tests["dimension_code"] == "JC")].iloc[0]
    assert jc["test"] == "welch_t" and jc["significant"] and jc["highest_group"] == "PG-B"
    overall = _query(
        warehouse,
        "select dimension_code, stressor_type from marts.agg_stress_dimension "
        "where wave = '2026Q3' and grouping = 'all'",
    ).set_index("dimension_code")["stressor_type"]
    assert overall["CD"] == "explicit" and overall["OC"] == "implicit"


def test_small_education_group_and_its_complement_are_suppressed(warehouse):
    edu = _query(
        warehouse,
        "select group_value, n, n_label, mean_score, suppressed from marts.agg_stress_dimension "
        "where wave = '2026Q3' and grouping = 'education' and dimension_code = 'JC'",
    ).set_index("group_value")
    assert edu.loc["master_plus", "suppressed"] and edu.loc["master_plus", "n_label"] == "<5"
    assert edu.loc["college", "suppressed"] and pd.isna(edu.loc["college", "mean_score"])
    assert not edu.loc["bachelor", "suppressed"] and edu.loc["bachelor", "n"] >= 5
    assert edu["n"].isna().sum() == 2


def test_reliability_matches_an_independent_computation(warehouse):
    scored = _query(
        warehouse,
        "select response_id, dimension_code, item_code, score from intermediate.int_stress_answers_scored "
        "where wave = '2026Q3'",
    )
    wide = scored.pivot(index="response_id", columns="item_code", values="score").astype(float)
    rel = _query(
        warehouse, "select * from marts.agg_stress_reliability where wave = '2026Q3' and row_type = 'scale'"
    )
    rel = rel.set_index("dimension_code")
    # pingouin (pairwise covariances, as psych::alpha(use = "pairwise")) on the same scored answers.
    assert rel.loc["overall", "alpha"] == pytest.approx(
        pg.cronbach_alpha(wide.dropna(how="all"))[0], abs=1e-10
    )
    for dim in ("JC", "RS", "OC", "CD", "FP"):
        cols = sorted(scored.loc[scored["dimension_code"] == dim, "item_code"].unique())
        block = wide[cols].dropna(how="all")
        assert rel.loc[dim, "alpha"] == pytest.approx(pg.cronbach_alpha(block)[0], abs=1e-10)
    # factor_analyzer's KMO on a dimension without gaps (CD: every respondent who started it finished it).
    cd = wide[sorted(c for c in wide.columns if c.startswith("CD"))].dropna(how="all")
    assert not cd.isna().any().any()
    assert rel.loc["CD", "kmo"] == pytest.approx(calculate_kmo(cd.to_numpy())[1], abs=1e-10)
    assert rel.loc["overall", "bartlett_df"] == 190 and rel.loc["overall", "bartlett_p"] < 0.001


def test_second_instrument_needs_only_a_dictionary(warehouse):
    dims = _query(
        warehouse,
        "select * from marts.agg_stress_dimension where wave = '2026Q4-PSS' and grouping = 'all'",
    ).set_index("dimension_code")
    assert set(dims.index) == {"PH", "SE"} and (dims["instrument"] == "pss10").all()
    assert (dims["midpoint"] == 2).all()  # (0 + 4) / 2 from the dictionary's scale bounds
    # By hand from the raw answers: SE items are reverse keyed on 0-4, so score = 4 - answer.
    raw = _query(
        warehouse,
        "select a.response_id, a.item_code, a.answer from raw.stress_answers as a "
        "where a.response_id like '2026Q4-PSS%' and a.item_code in ('PSS04', 'PSS05', 'PSS07', 'PSS08')",
    )
    by_respondent = (4 - raw["answer"]).groupby(raw["response_id"]).mean()
    assert dims.loc["SE", "mean_score"] == pytest.approx(by_respondent.mean())
    assert dims.loc["SE", "n"] == 30
    rel = _query(
        warehouse,
        "select * from marts.agg_stress_reliability where wave = '2026Q4-PSS' and scope = 'overall' "
        "and row_type = 'scale'",
    )
    assert rel["n_items"].iloc[0] == 10 and 0 < rel["alpha"].iloc[0] <= 1
    items = _query(
        warehouse,
        "select item_code from marts.agg_stress_item where wave = '2026Q4-PSS' and grouping = 'all'",
    )
    assert len(items) == 10


def test_top_items_are_ranked(warehouse):
    items = _query(
        warehouse,
        "select item_code, mean_score, stress_rank from marts.agg_stress_item "
        "where wave = '2026Q3' and grouping = 'all' order by stress_rank",
    )
    assert items["stress_rank"].iloc[0] == 1
    assert items["mean_score"].is_monotonic_decreasing
