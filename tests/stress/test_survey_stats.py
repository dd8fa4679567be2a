"""callcenter.survey_stats against hand-computed values and the libraries' published examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from factor_analyzer.factor_analyzer import calculate_bartlett_sphericity, calculate_kmo
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import stats

from callcenter import survey_stats as st

# METRICS.md worked example: four respondents, three items of one dimension.
WORKED = pd.DataFrame([(4, 5, 4), (2, 3, 3), (3, 3, 2), (5, 4, 5)], columns=["i1", "i2", "i3"])


def test_alpha_metrics_worked_example():
    # By hand: item variances 5/3 + 2.75/3 + 5/3 = 4.25, totals 13, 8, 8, 14 -> variance 10.25,
    # alpha = 3/2 * (1 - 4.25/10.25) = 36/41.
    assert st.cronbach_alpha(WORKED) == pytest.approx(36 / 41)
    assert round(st.cronbach_alpha(WORKED), 3) == 0.878


def test_alpha_is_the_same_for_any_consistent_ddof():
    items = WORKED.to_numpy(float)
    k = items.shape[1]
    for ddof in (0, 1):
        by_formula = k / (k - 1) * (1 - items.var(axis=0, ddof=ddof).sum() / items.sum(axis=1).var(ddof=ddof))
        assert by_formula == pytest.approx(36 / 41)


def test_alpha_if_item_deleted_by_hand():
    # Without i2: var(i1) = var(i3) = 5/3, cov(i1, i3) = 4/3 -> total 6, alpha = 2 * (1 - (10/3)/6) = 8/9.
    dropped = st.alpha_if_item_deleted(WORKED)
    assert dropped["i2"] == pytest.approx(8 / 9)
    assert dropped["i1"] == pytest.approx(st.cronbach_alpha(WORKED[["i2", "i3"]]))


def test_alpha_pingouin_published_examples():
    # pingouin.cronbach_alpha docs: "In R: psych:alpha(data, use='pairwise')" -> 0.732660835214447.
    wide_missing = pg.read_dataset("cronbach_wide_missing")
    assert st.cronbach_alpha(wide_missing) == pytest.approx(0.732660835214447, abs=1e-12)
    # Listwise deletion gives the psych use="complete.obs" value 0.8016949152542373: our rule is pairwise.
    assert st.cronbach_alpha(wide_missing.dropna()) == pytest.approx(0.8016949152542373, abs=1e-12)
    long = pg.read_dataset("cronbach_alpha")
    wide = long.pivot(index="Subj", columns="Items", values="Scores")
    assert st.cronbach_alpha(wide) == pytest.approx(0.5917188485995826, abs=1e-12)


def test_alpha_if_item_deleted_matches_pingouin_with_missing_values():
    data = pg.read_dataset("cronbach_wide_missing")
    dropped = st.alpha_if_item_deleted(data)
    for col in ("Q1", "Q5", "Q11"):
        assert dropped[col] == pytest.approx(pg.cronbach_alpha(data.drop(columns=col))[0], abs=1e-12)


def test_alpha_is_nan_without_variance():
    assert math.isnan(st.cronbach_alpha(pd.DataFrame({"a": [3, 3, 3], "b": [3, 3, 3]})))


def test_item_rest_correlation_by_hand():
    # i1 against i2 + i3 = (9, 6, 5, 9): the Pearson r computed by scipy.
    r = st.item_rest_correlation(WORKED)
    assert r["i1"] == pytest.approx(stats.pearsonr([4, 2, 3, 5], [9, 6, 5, 9]).statistic)


def test_kmo_two_items_is_one_half():
    # With two variables the partial correlation equals the correlation, so MSA = r^2 / 2r^2.
    k = st.kmo(WORKED[["i1", "i3"]])
    assert k.overall == pytest.approx(0.5)
    assert list(k.per_item) == pytest.approx([0.5, 0.5])


def test_kmo_and_bartlett_match_factor_analyzer_on_complete_data():
    rng = np.random.default_rng(1)
    factor = rng.normal(size=(80, 1))
    data = pd.DataFrame(factor + rng.normal(size=(80, 6)), columns=[f"q{i}" for i in range(6)])
    per_item, overall = calculate_kmo(data.to_numpy())
    k = st.kmo(data)
    assert k.overall == pytest.approx(overall, abs=1e-10)
    assert list(k.per_item) == pytest.approx(list(per_item), abs=1e-10)
    chi2, p = calculate_bartlett_sphericity(data.to_numpy())
    b = st.bartlett_sphericity(data)
    assert (b.chi2, b.p_value, b.df, b.n) == (pytest.approx(chi2), pytest.approx(p), 15, 80)


def test_bartlett_by_hand():
    # Two variables with r = 0.5, n = 10: chi2 = -ln(0.75) * (9 - 9/6), df = 1.
    corr = np.array([[1.0, 0.5], [0.5, 1.0]])
    b = st.bartlett_sphericity(corr=corr, n=10)
    assert b.chi2 == pytest.approx(-math.log(0.75) * 7.5)
    assert b.df == 1
    assert b.p_value == pytest.approx(stats.chi2.sf(-math.log(0.75) * 7.5, 1))
    identity = st.bartlett_sphericity(corr=np.eye(3), n=50)
    assert identity.chi2 == pytest.approx(0.0) and identity.p_value == pytest.approx(1.0)


def test_kmo_uses_pairwise_correlations_with_missing_values():
    data = pg.read_dataset("cronbach_wide_missing").iloc[:, :5]
    k = st.kmo(data)
    assert k.overall == pytest.approx(st.kmo(corr=data.corr()).overall)
    assert 0 < k.overall < 1


def test_one_sample_t_pingouin_published_example():
    # pingouin.ttest docs: ttest([5.5, 2.4, 6.8, 9.6, 4.2], 4) -> T 1.40, dof 4, p 0.23, CI95 [2.32, 9.08].
    x = [5.5, 2.4, 6.8, 9.6, 4.2]
    t = st.one_sample_t(x, 4)
    assert (round(t.t, 2), t.df, round(t.p_value, 2)) == (1.40, 4, 0.23)
    ci = st.mean_ci(x)
    assert (round(ci.ci_low, 2), round(ci.ci_high, 2)) == (2.32, 9.08)
    assert ci.mean == pytest.approx(5.7)


def test_welch_t_pingouin_published_example():
    # pingouin.ttest docs, example 5: Welch T 1.996537, dof 31.567592, p 0.054561, cohen_d 0.673518.
    np.random.seed(123)
    x = np.random.normal(loc=7, size=20)
    np.random.seed(123)
    y = np.random.normal(loc=6.5, size=15)
    res = st.welch_t(x, y)
    assert res.test == "welch_t"
    assert res.statistic == pytest.approx(1.996537, abs=1e-6)
    assert res.df2 == pytest.approx(31.567592, abs=1e-6)
    assert res.p_value == pytest.approx(0.054561, abs=1e-6)
    assert res.cohens_d == pytest.approx(0.673518, abs=1e-6)
    assert res.effect_size == pytest.approx(0.673518 * (1 - 3 / (4 * 35 - 9)), abs=1e-6)
    scipy_res = stats.ttest_ind(x, y, equal_var=False)
    assert (res.statistic, res.p_value) == (
        pytest.approx(scipy_res.statistic),
        pytest.approx(scipy_res.pvalue),
    )


def test_anova_pingouin_published_example():
    # pingouin.anova docs: Pain threshold ~ Hair color -> F 6.791407, p 0.004114, n2 0.575962, df 3/15.
    df = pg.read_dataset("anova")
    res = st.one_way_anova([g["Pain threshold"] for _, g in df.groupby("Hair color")])
    assert (res.df1, res.df2) == (3, 15)
    assert res.statistic == pytest.approx(6.791407, abs=1e-6)
    assert res.p_value == pytest.approx(0.004114, abs=1e-6)
    assert res.effect_size == pytest.approx(0.575962, abs=1e-6)


def test_anova_by_hand_and_dispatch():
    # Means 2, 3, 6; SSB = 26, SSW = 6 -> F = (26/2)/(6/6) = 13, eta^2 = 26/32.
    res = st.compare_groups([[1, 2, 3], [2, 3, 4], [5, 6, 7]])
    assert (res.test, res.statistic, res.effect_size) == (
        "anova",
        pytest.approx(13.0),
        pytest.approx(26 / 32),
    )
    assert res.p_value == pytest.approx(stats.f_oneway([1, 2, 3], [2, 3, 4], [5, 6, 7]).pvalue)
    assert st.compare_groups([[1, 2, 3], [4, 5, 7]]).test == "welch_t"


def test_cohens_d_by_hand():
    # Means 2 and 5, both sd 1 -> pooled sd 1, d = -3; g = -3 * (1 - 3/(4*6 - 9)) = -2.4.
    assert st.cohens_d([1, 2, 3], [4, 5, 6]) == pytest.approx(-3.0)
    assert st.hedges_g([1, 2, 3], [4, 5, 6]) == pytest.approx(-2.4)


def test_wilson_interval_known_values():
    # Zero successes of 10: upper = z^2 / (n + z^2) = 3.8415 / 13.8415.
    low, high = st.wilson_interval(0, 10)
    z2 = stats.norm.ppf(0.975) ** 2
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(z2 / (10 + z2))
    low, high = st.wilson_interval(146, 160)
    assert low < 146 / 160 < high
    assert all(math.isnan(v) for v in st.wilson_interval(0, 0))


def test_correlations_need_three_pairs():
    assert st.pearson([1, 2, 3, 4], [2, 4, 6, 8])[0] == pytest.approx(1.0)
    assert st.spearman([1, 2, 3, 4], [1, 3, 2, 9])[0] == pytest.approx(0.8)
    r, p, n = st.pearson([1, 2, None], [1, 2, 3])
    assert math.isnan(r) and n == 2


# --- suppression ------------------------------------------------------------------------------


def _suppress(ns: list[int], min_n: int = 5) -> list[bool]:
    cells = pd.DataFrame({"breakdown": "gender", "group_value": [f"g{i}" for i in range(len(ns))], "n": ns})
    return list(st.suppress_cells(cells, "n", [["breakdown"]], min_n, label_col="group_value"))


def test_primary_suppression_and_complement():
    # One small group: the next smallest goes too, or total - visible would reveal it.
    assert _suppress([20, 12, 3]) == [False, True, True]
    # Two small groups that together hold >= 5: nothing more to hide.
    assert _suppress([20, 3, 4]) == [False, True, True]
    # Two small groups holding 4 together: the remainder rule hides the next smallest as well.
    assert _suppress([20, 2, 2]) == [True, True, True]
    assert _suppress([30, 10, 8, 4]) == [False, False, True, True]
    assert _suppress([10, 10]) == [False, False]
    # Ties: the label decides, so the result is reproducible.
    assert _suppress([6, 6, 3]) == [True, False, True]


def test_suppression_nested_partition_protects_teams_inside_a_project_group():
    # Teams T1 (12) + T2 (3) form PG-A, T3 (8) + T4 (30) form PG-B. The wave breakdown alone would
    # hide T2 and T3; but PG-A minus T1 would reveal T2 and PG-B minus T4 would reveal T3, so the
    # nested partitions hide T1 and T4 as well.
    cells = pd.DataFrame(
        {"grouping": "team", "group_value": ["T1", "T2", "T3", "T4"], "parent": ["PG-A", "PG-A", "PG-B", "PG-B"],
         "n": [12, 3, 8, 30]}
    )  # fmt: skip
    hidden = st.suppress_cells(cells, "n", [["grouping"], ["grouping", "parent"]], 5, label_col="group_value")
    assert list(hidden) == [True, True, True, True]


@settings(max_examples=200, deadline=None)
@given(hs.lists(hs.integers(min_value=1, max_value=40), min_size=1, max_size=8))
def test_suppression_never_lets_subtraction_isolate_a_small_group(ns):
    hidden = np.array(_suppress(ns))
    n = np.array(ns)
    assert all(hidden[n < 5]), "every small cell is hidden"
    if hidden.any() and not hidden.all():
        assert hidden.sum() >= 2, "never exactly one hidden cell beside visible ones"
        assert n[hidden].sum() >= 5, "total minus visible cells never isolates fewer than 5"
