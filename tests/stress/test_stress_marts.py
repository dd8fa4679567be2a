"""The mart builders (callcenter.stress_marts) on small hand-made tables: counts, statistics and
every privacy rule, without dbt."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from callcenter import stress_marts as sm
from callcenter import survey_stats as st

SETTINGS = sm.Settings()


def _flagged(
    groups: dict[str, int], wave: str = "W1", straight: int = 0, incomplete: int = 0, comments: int = 0
):
    rows = []
    for pg, count in groups.items():
        for i in range(count):
            rows.append({"response_id": f"{pg}-{i}", "wave": wave, "project_group": pg, "is_complete": True,
                         "is_straightlined": False, "has_comment": False})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame.loc[: straight - 1, "is_straightlined"] = True
    frame.loc[frame.index[-incomplete:] if incomplete else [], "is_complete"] = False
    frame.loc[: comments - 1, "has_comment"] = True
    return frame


def test_response_rate_metrics_example():
    # METRICS.md: 146 returned of 160 distributed = 91.25%.
    flagged = _flagged({"PG-A": 75, "PG-B": 71}, straight=2, incomplete=3, comments=12)
    waves = pd.DataFrame({"wave": ["W1", "W1"], "project_group": ["PG-A", "PG-B"], "distributed": [80, 80]})
    out = sm.build_wave(flagged, waves, SETTINGS).set_index(["grouping", "group_value"])
    total = out.loc[("all", "all")]
    assert (total["response_rate_num"], total["response_rate_den"]) == (146, 160)
    assert total["response_rate_num"] / total["response_rate_den"] == pytest.approx(0.9125)
    assert (total["completion_num"], total["completion_den"]) == (143, 146)
    assert (total["straightlined"], total["comments"]) == (2, 12)
    # Roll-up rule: sum(num) / sum(den) over the project groups gives the same rate.
    pgs = out.loc["project_group"]
    assert pgs["response_rate_num"].sum() / pgs["response_rate_den"].sum() == pytest.approx(0.9125)


def test_wave_small_groups_hide_completion_and_comments():
    flagged = _flagged({"PG-A": 40, "PG-B": 8, "PG-C": 3}, comments=5)
    waves = pd.DataFrame(
        {"wave": ["W1"] * 3, "project_group": ["PG-A", "PG-B", "PG-C"], "distributed": [45, 9, 4]}
    )
    out = sm.build_wave(flagged, waves, SETTINGS).set_index("group_value")
    # PG-C (3 returned) is suppressed, and PG-B with it (complementary) - all minus PG-A would reveal PG-C.
    assert bool(out.loc["PG-C", "suppressed"]) and bool(out.loc["PG-B", "suppressed"])
    assert pd.isna(out.loc["PG-C", "completion_num"]) and pd.isna(out.loc["PG-B", "straightlined"])
    assert not out.loc["PG-A", "suppressed"] and out.loc["PG-A", "completion_num"] == 40
    # Comment counts need 10: PG-B (8) and PG-C (3) hidden, PG-A and the wave total shown.
    assert out.loc["PG-A", "comments"] == 5 and out.loc["all", "comments"] == 5
    assert out.loc[["PG-B", "PG-C"], "comments_suppressed"].all()
    # Response counts stay visible (operational numbers, like an invitation count).
    assert out.loc["PG-C", "returned"] == 3 and out.loc["PG-C", "distributed"] == 4


def _items(dimensions: dict[str, int], scale=(1, 5), instrument: str = "v1") -> pd.DataFrame:
    rows, order = [], 0
    for dim, k in dimensions.items():
        for j in range(k):
            order += 1
            rows.append({"instrument": instrument, "item_code": f"{dim}{j + 1}", "item_order": order,
                         "dimension_code": dim, "dimension_zh": dim, "dimension_en": dim, "dimension_order": order - j,
                         "text_zh": "", "text_en": "", "reverse_keyed": False, "scale_min": scale[0],
                         "scale_max": scale[1], "midpoint": (scale[0] + scale[1]) / 2,
                         "high_score_threshold": ((scale[0] + scale[1]) / 2 + scale[1]) / 2})  # fmt: skip
    return pd.DataFrame(rows)


def _groups(people: pd.DataFrame, columns: list[str], wave: str = "W1") -> pd.DataFrame:
    frames = [pd.DataFrame({"response_id": people["response_id"], "wave": wave, "grouping": "all",
                            "group_value": "all", "project_group": people["project_group"]})]  # fmt: skip
    for col in columns:
        frames.append(pd.DataFrame({"response_id": people["response_id"], "wave": wave, "grouping": col,
                                    "group_value": people[col], "project_group": people["project_group"]}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _scores(people: pd.DataFrame, dim: str, values, wave: str = "W1") -> pd.DataFrame:
    return pd.DataFrame({"response_id": people["response_id"], "wave": wave, "instrument": "v1",
                         "dimension_code": dim, "dimension_score": list(values)})  # fmt: skip


def test_dimension_statistics_by_hand():
    people = pd.DataFrame({"response_id": [f"r{i}" for i in range(6)], "project_group": "PG-A"})
    scores = _scores(people, "JC", [4.0, 4.5, 3.75, 2.0, 5.0, 4.25])
    out = sm.build_dimension(scores, _groups(people, []), _items({"JC": 4}), SETTINGS)
    row = out.iloc[0]
    assert (row["grouping"], row["n"], row["n_label"]) == ("all", 6, "6")
    assert row["mean_score"] == pytest.approx(23.5 / 6)
    assert row["sd_score"] == pytest.approx(np.std([4.0, 4.5, 3.75, 2.0, 5.0, 4.25], ddof=1))
    # High stress = score >= 4: 4.0, 4.5, 5.0, 4.25 -> 4 of 6.
    assert (row["high_stress_num"], row["high_stress_den"]) == (4, 6)
    low, high = st.wilson_interval(4, 6)
    assert (row["high_stress_wilson_low"], row["high_stress_wilson_high"]) == (
        pytest.approx(low),
        pytest.approx(high),
    )
    ci = st.mean_ci([4.0, 4.5, 3.75, 2.0, 5.0, 4.25])
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(ci.ci_low), pytest.approx(ci.ci_high))
    assert bool(row["small_n"]) and not row["suppressed"]


def test_explicit_and_implicit_stressors():
    people = pd.DataFrame({"response_id": [f"r{i}" for i in range(8)], "project_group": "PG-A"})
    scores = pd.concat(
        [
            _scores(people, "JC", [4, 4.25, 3.75, 4.5, 4, 3.5, 4.25, 4]),  # clearly above 3
            _scores(people, "OC", [3, 3.25, 2.75, 3.5, 2.5, 3, 3.25, 2.75]),  # around 3
            _scores(people, "CD", [2, 1.5, 2.25, 2, 1.75, 2.5, 2, 1.5]),  # clearly below 3
        ]
    )
    out = sm.build_dimension(scores, _groups(people, []), _items({"JC": 2, "OC": 2, "CD": 2}), SETTINGS)
    kinds = dict(zip(out["dimension_code"], out["stressor_type"], strict=True))
    assert kinds == {"JC": "explicit", "OC": "implicit", "CD": "implicit"}
    jc = out.set_index("dimension_code").loc["JC"]
    t = st.one_sample_t([4, 4.25, 3.75, 4.5, 4, 3.5, 4.25, 4], 3)
    assert jc["p_vs_midpoint"] == pytest.approx(t.p_value) and jc["p_vs_midpoint"] < 0.05


def _demographic_people():
    # 20 women, 9 men, 3 'other' and 2 who left gender blank ('unknown').
    gender = ["female"] * 20 + ["male"] * 9 + ["other"] * 3 + ["unknown"] * 2
    return pd.DataFrame(
        {"response_id": [f"r{i}" for i in range(len(gender))], "project_group": "PG-A", "gender": gender}
    )


def test_small_cells_suppressed_with_null_statistics_and_complement():
    people = _demographic_people()
    rng = np.random.default_rng(3)
    scores = _scores(people, "JC", rng.uniform(1, 5, len(people)))
    out = sm.build_dimension(scores, _groups(people, ["gender"]), _items({"JC": 4}), SETTINGS)
    by = out[out["grouping"] == "gender"].set_index("group_value")
    # other (3) and unknown (2) are hidden; together they hold 5, so male (9) stays visible.
    assert list(by["suppressed"].sort_index()) == [False, False, True, True]
    hidden = by.loc[["other", "unknown"]]
    assert hidden["n"].isna().all() and hidden["mean_score"].isna().all() and hidden["sd_score"].isna().all()
    assert hidden["high_stress_num"].isna().all() and hidden["stressor_type"].isna().all()
    assert list(hidden["n_label"]) == ["<5", "<5"]


def test_single_hidden_group_forces_the_next_smallest():
    people = _demographic_people()
    people.loc[people["gender"] == "unknown", "gender"] = "female"  # only 'other' (3) is small now
    scores = _scores(people, "JC", np.linspace(1, 5, len(people)))
    out = sm.build_dimension(scores, _groups(people, ["gender"]), _items({"JC": 4}), SETTINGS)
    by = out[out["grouping"] == "gender"].set_index("group_value")
    assert bool(by.loc["other", "suppressed"]) and bool(by.loc["male", "suppressed"])
    assert by.loc["male", "n_label"] == ">=5" and pd.isna(by.loc["male", "mean_score"])
    assert not by.loc["female", "suppressed"]
    total = out[out["grouping"] == "all"].iloc[0]
    # The subtraction attack: total minus visible groups covers 12 people, never one small group.
    assert total["n"] - by.loc[~by["suppressed"].astype(bool), "n"].sum() == 12


def test_group_tests_use_only_published_groups():
    people = _demographic_people()
    scores = _scores(people, "JC", [4.5] * 10 + [4.0] * 10 + [2.0, 2.5, 3.0] * 3 + [5, 5, 5] + [1, 1])
    groups = _groups(people, ["gender"])
    dim = sm.build_dimension(scores, groups, _items({"JC": 4}), SETTINGS)
    tests = sm.build_group_tests(scores, groups, dim, SETTINGS)
    row = tests[tests["grouping"] == "gender"].iloc[0]
    assert (row["test"], row["groups_tested"], row["n_groups"], row["n_total"]) == (
        "welch_t",
        "female|male",
        2,
        29,
    )
    female, male = [4.5] * 10 + [4.0] * 10, [2.0, 2.5, 3.0] * 3
    expected = st.welch_t(female, male)
    assert row["p_value"] == pytest.approx(expected.p_value) and bool(row["significant"])
    assert row["effect_size"] == pytest.approx(st.hedges_g(female, male))
    assert (row["highest_group"], row["lowest_group"]) == ("female", "male")


def test_group_test_anova_for_three_groups_and_none_for_one():
    people = pd.DataFrame(
        {"response_id": [f"r{i}" for i in range(18)], "project_group": "PG-A",
         "tenure_band": ["<6m"] * 6 + ["6-12m"] * 6 + [">3y"] * 6, "education": "bachelor"}
    )  # fmt: skip
    values = [3, 3.5, 3, 2.5, 3, 3] + [4.5, 4, 4.5, 5, 4, 4.5] + [3, 2.5, 3.5, 3, 3, 2.5]
    scores = _scores(people, "JC", values)
    groups = _groups(people, ["tenure_band", "education"])
    dim = sm.build_dimension(scores, groups, _items({"JC": 4}), SETTINGS)
    tests = sm.build_group_tests(scores, groups, dim, SETTINGS).set_index("grouping")
    anova = st.one_way_anova([values[:6], values[6:12], values[12:]])
    assert tests.loc["tenure_band", "test"] == "anova"
    assert tests.loc["tenure_band", "effect_size"] == pytest.approx(anova.effect_size)
    assert tests.loc["tenure_band", "highest_group"] == "6-12m"
    assert pd.isna(tests.loc["education", "test"]) and tests.loc["education", "n_groups"] == 1


def test_item_means_reverse_keying_and_rank():
    people = pd.DataFrame({"response_id": [f"r{i}" for i in range(5)], "project_group": "PG-A"})
    items = _items({"JC": 3})
    items.loc[items["item_code"] == "JC3", "reverse_keyed"] = True
    raw = {"JC1": [4, 4, 5, 3, 4], "JC2": [2, 2, 3, 2, 1], "JC3": [1, 2, 1, 1, 2]}
    rows = []
    for code, answers in raw.items():
        for rid, a in zip(people["response_id"], answers, strict=True):
            score = 6 - a if code == "JC3" else a
            rows.append({"response_id": rid, "wave": "W1", "instrument": "v1", "dimension_code": "JC",
                         "item_code": code, "answer": a, "score": score, "is_answered": True})  # fmt: skip
    out = sm.build_item(pd.DataFrame(rows), _groups(people, []), items, SETTINGS).set_index("item_code")
    assert out.loc["JC3", "mean_answer"] == pytest.approx(1.4)
    assert out.loc["JC3", "mean_score"] == pytest.approx(4.6)
    assert list(out["stress_rank"]) == [2, 3, 1]  # JC3 (4.6) > JC1 (4.0) > JC2 (2.0)
    assert (out.loc["JC1", "agree_num"], out.loc["JC1", "agree_den"]) == (4, 5)


def test_reliability_mart_matches_the_library_and_suppresses_small_waves():
    rows = []
    for wave, data in {
        "W1": [(4, 5, 4), (2, 3, 3), (3, 3, 2), (5, 4, 5), (4, 4, 4)],
        "W2": [(4, 5, 4)] * 4,
    }.items():
        for r, answers in enumerate(data):
            for j, a in enumerate(answers):
                rows.append({"response_id": f"{wave}-{r}", "wave": wave, "instrument": "v1", "dimension_code": "JC",
                             "item_code": f"JC{j + 1}", "answer": a, "score": a, "is_answered": True})  # fmt: skip
    answers = pd.DataFrame(rows)
    out = sm.build_reliability(answers, _items({"JC": 3}), SETTINGS)
    scale = out[(out["wave"] == "W1") & (out["row_type"] == "scale") & (out["scope"] == "dimension")].iloc[0]
    w1 = pd.DataFrame([(4, 5, 4), (2, 3, 3), (3, 3, 2), (5, 4, 5), (4, 4, 4)], columns=["JC1", "JC2", "JC3"])
    assert scale["alpha"] == pytest.approx(st.cronbach_alpha(w1))
    assert scale["kmo"] == pytest.approx(st.kmo(w1).overall)
    assert (scale["bartlett_df"], scale["n_respondents"]) == (3, 5)
    item = out[(out["wave"] == "W1") & (out["item_code"] == "JC2") & (out["scope"] == "dimension")].iloc[0]
    assert item["alpha_if_item_deleted"] == pytest.approx(st.cronbach_alpha(w1[["JC1", "JC3"]]))
    w2 = out[out["wave"] == "W2"]
    assert w2["suppressed"].all() and w2["alpha"].isna().all() and w2["n_respondents"].isna().all()


def test_workload_link_joins_on_team_and_correlates_published_teams():
    people = pd.DataFrame(
        {"response_id": [f"r{i}" for i in range(24)], "project_group": "PG-A",
         "team": ["T1"] * 6 + ["T2"] * 6 + ["T3"] * 6 + ["T4"] * 6}
    )  # fmt: skip
    team_level = {"T1": 2.0, "T2": 3.0, "T3": 4.0, "T4": 3.5}
    scores = _scores(
        people, "JC", [team_level[t] + (0.1 if i % 2 else -0.1) for i, t in enumerate(people["team"])]
    )
    groups = _groups(people, ["team"])
    dim = sm.build_dimension(scores, groups, _items({"JC": 4}), SETTINGS)
    workload = pd.DataFrame(
        {"wave": "W1", "team": ["T1", "T2", "T3", "T4"], "agents": 6, "handled": [600, 700, 800, 750],
         "logged_in_s": [36000 * 6] * 4, "occupancy_num": [70, 80, 90, 85], "occupancy_den": [100] * 4,
         "agent_months": 6, "night_shifts": [0, 6, 12, 9], "consecutive_work_days_max_sum": [30, 36, 42, 39],
         "long_run_agent_months": [0, 1, 2, 1]}
    )  # fmt: skip
    team_mart = sm.build_workload(dim, workload)
    t3 = team_mart.set_index("team").loc["T3"]
    assert t3["occupancy"] == pytest.approx(0.9)
    assert t3["contacts_per_logged_in_hour"] == pytest.approx(800 / 60)
    assert t3["night_shifts_per_agent_month"] == pytest.approx(2.0)
    corr = sm.build_workload_correlation(team_mart).set_index("workload_measure")
    # Team stress rises exactly linearly with occupancy and night shifts.
    assert corr.loc["occupancy", "pearson_r"] == pytest.approx(1.0)
    assert corr.loc["night_shifts_per_agent_month", "spearman_rho"] == pytest.approx(1.0)
    assert corr.loc["occupancy", "n_teams"] == 4
    assert "response_id" not in team_mart.columns and "agent_id" not in team_mart.columns


def test_workload_without_workforce_data_keeps_team_rows():
    people = pd.DataFrame(
        {"response_id": [f"r{i}" for i in range(10)], "project_group": "PG-A", "team": "T1"}
    )
    scores = _scores(people, "JC", np.linspace(2, 4, 10))
    dim = sm.build_dimension(scores, _groups(people, ["team"]), _items({"JC": 4}), SETTINGS)
    empty = pd.DataFrame(columns=["wave", "team", "agents", "handled", "logged_in_s", "occupancy_num",
                                  "occupancy_den", "agent_months", "night_shifts", "consecutive_work_days_max_sum",
                                  "long_run_agent_months"])  # fmt: skip
    team_mart = sm.build_workload(dim, empty)
    assert len(team_mart) == 1 and not team_mart["has_workload"].any()
    corr = sm.build_workload_correlation(team_mart)
    assert corr["pearson_r"].isna().all() and (corr["n_teams"] == 0).all()


def test_settings_refuse_a_threshold_below_five():
    with pytest.raises(ValueError, match="min_cell_n"):
        sm.Settings.from_frame(pd.DataFrame([{"min_cell_n": 3, "min_comment_n": 10}]))
    assert sm.Settings.from_frame(pd.DataFrame([{"min_cell_n": 7.0, "min_comment_n": 12.0}])).min_cell_n == 7


def test_all_suppressed_columns_keep_numeric_types():
    people = pd.DataFrame({"response_id": ["a", "b"], "project_group": "PG-A"})
    out = sm.build_dimension(_scores(people, "JC", [3, 4]), _groups(people, []), _items({"JC": 2}), SETTINGS)
    assert out["suppressed"].all()
    assert out["mean_score"].dtype == float and str(out["n"].dtype) == "Int64"
    assert math.isnan(out["mean_score"].iloc[0])


def test_every_mart_builds_before_the_first_survey():
    """A fresh installation has empty raw stress tables: the marts must still build (empty)."""
    answers = pd.DataFrame(columns=["response_id", "wave", "instrument", "dimension_code", "item_code", "answer",
                                    "score", "is_answered"])  # fmt: skip
    scores = pd.DataFrame(columns=["response_id", "wave", "instrument", "dimension_code", "dimension_score"])
    groups = pd.DataFrame(columns=["response_id", "wave", "grouping", "group_value", "project_group"])
    flagged = pd.DataFrame(columns=["response_id", "wave", "project_group", "is_complete", "is_straightlined",
                                    "has_comment"])  # fmt: skip
    waves = pd.DataFrame(columns=["wave", "project_group", "distributed"])
    workload = pd.DataFrame(columns=["wave", "team", "agents", "handled", "logged_in_s", "occupancy_num",
                                     "occupancy_den", "agent_months", "night_shifts", "consecutive_work_days_max_sum",
                                     "long_run_agent_months"])  # fmt: skip
    items = _items({"JC": 4})
    dim = sm.build_dimension(scores, groups, items, SETTINGS)
    team = sm.build_workload(dim, workload)
    outputs = [
        sm.build_wave(flagged, waves, SETTINGS), dim, sm.build_item(answers, groups, items, SETTINGS),
        sm.build_reliability(answers, items, SETTINGS), sm.build_group_tests(scores, groups, dim, SETTINGS),
        team, sm.build_workload_correlation(team),
    ]  # fmt: skip
    assert all(len(out) == 0 for out in outputs)
    assert "mean_score" in dim.columns and dim["mean_score"].dtype == float
