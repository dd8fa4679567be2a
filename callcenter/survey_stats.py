"""Statistics for the agent stress survey (METRICS.md, "Agent stress survey").

A plain library: pandas/numpy in, plain numbers out, no dbt or DuckDB. The stress marts (dbt
Python models in dbt/models/marts/stress/) call it; tests/stress/ checks it against hand-computed
values and the examples published in the pingouin, factor_analyzer and R psych documentation.

Conventions follow R psych:
- reverse keys: score = scale_min + scale_max - answer (6 - x on a 1-5 scale);
- Cronbach's alpha and alpha-if-item-deleted from the *pairwise-complete* covariance matrix
  (psych::alpha(x, use = "pairwise"), pingouin's default), so a skipped item costs one cell,
  not the whole respondent;
- KMO and Bartlett from the pairwise-complete correlation matrix, Bartlett with n = number of
  respondents (psych::cortest.bartlett on raw data).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# ----------------------------------------------------------------------------------------------
# Scoring


def reverse_key(answers: pd.Series | np.ndarray | float, scale_min: float, scale_max: float):
    """Reverse-keyed score: scale_min + scale_max - answer (6 - x on 1-5; 4 - x on PSS-10's 0-4)."""
    return scale_min + scale_max - answers


# ----------------------------------------------------------------------------------------------
# Reliability and validity


def _as_frame(items: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(items).astype(float)
    if frame.shape[1] < 2:
        raise ValueError("at least two items are required")
    return frame


def cronbach_alpha(items: pd.DataFrame | np.ndarray) -> float:
    """Cronbach's alpha from the pairwise-complete covariance matrix (respondents x items).

    alpha = k/(k-1) * (1 - trace(C) / sum(C)). With complete data this is the textbook
    k/(k-1) * (1 - sum var(item) / var(total)); with gaps it matches psych::alpha(use="pairwise").
    NaN when fewer than two respondents or the total variance is zero.
    """
    frame = _as_frame(items)
    cov = frame.cov(min_periods=2).to_numpy()
    k = frame.shape[1]
    if np.isnan(cov).any() or cov.sum() == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))


def alpha_if_item_deleted(items: pd.DataFrame) -> pd.Series:
    """Alpha of the scale without each item (psych's 'Reliability if an item is dropped').

    Needs at least three items (two must remain); NaN otherwise.
    """
    frame = _as_frame(items)
    if frame.shape[1] < 3:
        return pd.Series(float("nan"), index=frame.columns, dtype=float)
    return pd.Series({col: cronbach_alpha(frame.drop(columns=col)) for col in frame.columns}, dtype=float)


def item_rest_correlation(items: pd.DataFrame) -> pd.Series:
    """Correlation of each item with the sum of the other items (psych's r.drop), pairwise on rows
    that answered the item; the rest score is the sum of the other answered items."""
    frame = _as_frame(items)
    result = {}
    for col in frame.columns:
        rest = frame.drop(columns=col).sum(axis=1, min_count=1)
        pair = pd.concat([frame[col], rest], axis=1).dropna()
        result[col] = float(pair.iloc[:, 0].corr(pair.iloc[:, 1])) if len(pair) >= 3 else float("nan")
    return pd.Series(result, dtype=float)


def pairwise_correlation(items: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlations on pairwise-complete observations (R: cor(x, use = "pairwise"))."""
    return _as_frame(items).corr(min_periods=2)


@dataclass(frozen=True)
class Kmo:
    overall: float
    per_item: pd.Series


def kmo(items: pd.DataFrame | None = None, *, corr: pd.DataFrame | None = None) -> Kmo:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, per item and overall (psych::KMO).

    MSA = sum r^2 / (sum r^2 + sum q^2) over off-diagonal cells, where q is the anti-image
    correlation (cov2cor of R^-1). A singular R uses the pseudo-inverse.
    """
    r = pairwise_correlation(items) if corr is None else corr.astype(float)
    names = r.columns
    rm = r.to_numpy(copy=True)
    if np.isnan(rm).any():
        return Kmo(float("nan"), pd.Series(float("nan"), index=names, dtype=float))
    try:
        inv = np.linalg.inv(rm)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(rm)
    d = np.sqrt(np.abs(np.diag(inv)))
    q = inv / np.outer(d, d)
    np.fill_diagonal(q, 0.0)
    np.fill_diagonal(rm, 0.0)
    r2, q2 = rm**2, q**2
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    overall = r2.sum() / (r2.sum() + q2.sum())
    return Kmo(float(overall), pd.Series(per_item, index=names, dtype=float))


@dataclass(frozen=True)
class Bartlett:
    chi2: float
    df: int
    p_value: float
    n: int


def bartlett_sphericity(items: pd.DataFrame | None = None, *, corr=None, n: int | None = None) -> Bartlett:
    """Bartlett's test that the correlation matrix is an identity (psych::cortest.bartlett).

    chi2 = -ln(det R) * (n - 1 - (2p + 5) / 6), df = p(p - 1)/2. From raw data R is the
    pairwise-complete correlation matrix and n the number of respondents (rows).
    """
    if corr is None:
        corr = pairwise_correlation(items)
        n = len(items)
    if n is None:
        raise ValueError("n is required with a correlation matrix")
    rm = np.asarray(corr, dtype=float)
    p = rm.shape[0]
    df = p * (p - 1) // 2
    if np.isnan(rm).any():
        return Bartlett(float("nan"), df, float("nan"), n)
    det = np.linalg.det(rm)
    if det <= 0:
        return Bartlett(float("inf"), df, 0.0, n)
    chi2 = -math.log(det) * (n - 1 - (2 * p + 5) / 6)
    return Bartlett(float(chi2), df, float(stats.chi2.sf(chi2, df)), n)


# ----------------------------------------------------------------------------------------------
# Means, intervals, tests


def _clean(values: Iterable[float]) -> np.ndarray:
    arr = np.asarray(list(values), dtype=float)
    return arr[~np.isnan(arr)]


@dataclass(frozen=True)
class MeanCi:
    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float


def mean_ci(values: Iterable[float], level: float = 0.95) -> MeanCi:
    """Mean, sample sd (ddof 1) and the t-based confidence interval of the mean."""
    x = _clean(values)
    n = len(x)
    if n == 0:
        return MeanCi(0, float("nan"), float("nan"), float("nan"), float("nan"))
    mean = float(x.mean())
    if n < 2:
        return MeanCi(n, mean, float("nan"), float("nan"), float("nan"))
    sd = float(x.std(ddof=1))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return MeanCi(n, mean, sd, float(mean - half), float(mean + half))


@dataclass(frozen=True)
class TTest:
    t: float
    df: float
    p_value: float


def one_sample_t(values: Iterable[float], popmean: float) -> TTest:
    """Two-sided one-sample t-test against popmean (the scale midpoint for explicit/implicit)."""
    x = _clean(values)
    if len(x) < 2 or x.std(ddof=1) == 0:
        return TTest(float("nan"), float(len(x) - 1), float("nan"))
    res = stats.ttest_1samp(x, popmean)
    return TTest(float(res.statistic), float(len(x) - 1), float(res.pvalue))


def cohens_d(a: Iterable[float], b: Iterable[float]) -> float:
    """Cohen's d with the pooled standard deviation (pingouin.compute_effsize, eftype='cohen')."""
    x, y = _clean(a), _clean(b)
    nx, ny = len(x), len(y)
    if nx < 2 or ny < 2:
        return float("nan")
    pooled = math.sqrt(((nx - 1) * x.var(ddof=1) + (ny - 1) * y.var(ddof=1)) / (nx + ny - 2))
    return float((x.mean() - y.mean()) / pooled) if pooled else float("nan")


def hedges_g(a: Iterable[float], b: Iterable[float]) -> float:
    """Hedges' g = d * (1 - 3 / (4 (n1 + n2) - 9)), the small-sample correction of Cohen's d."""
    x, y = _clean(a), _clean(b)
    return cohens_d(x, y) * (1 - 3 / (4 * (len(x) + len(y)) - 9))


@dataclass(frozen=True)
class GroupTest:
    test: str  # 'welch_t' or 'anova'
    statistic: float
    df1: float
    df2: float
    p_value: float
    effect_size_name: str  # 'hedges_g' or 'eta_squared'
    effect_size: float
    cohens_d: float | None = None


def welch_t(a: Iterable[float], b: Iterable[float]) -> GroupTest:
    """Welch's unequal-variance t-test (scipy ttest_ind, equal_var=False) with Hedges' g."""
    x, y = _clean(a), _clean(b)
    if len(x) < 2 or len(y) < 2:
        return GroupTest(
            "welch_t", float("nan"), float("nan"), float("nan"), float("nan"), "hedges_g", float("nan")
        )
    res = stats.ttest_ind(x, y, equal_var=False)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1)) if (vx + vy) else float("nan")
    return GroupTest(
        "welch_t", float(res.statistic), float("nan"), float(df), float(res.pvalue),
        "hedges_g", hedges_g(x, y), cohens_d(x, y),
    )  # fmt: skip


def one_way_anova(groups: Sequence[Iterable[float]]) -> GroupTest:
    """Classic one-way ANOVA (scipy f_oneway) with eta squared = SS_between / SS_total."""
    arrays = [g for g in (_clean(v) for v in groups) if len(g) > 0]
    if len(arrays) < 2 or sum(len(g) for g in arrays) <= len(arrays):
        return GroupTest(
            "anova", float("nan"), float("nan"), float("nan"), float("nan"), "eta_squared", float("nan")
        )
    res = stats.f_oneway(*arrays)
    allv = np.concatenate(arrays)
    ss_total = float(((allv - allv.mean()) ** 2).sum())
    ss_between = float(sum(len(g) * (g.mean() - allv.mean()) ** 2 for g in arrays))
    eta2 = ss_between / ss_total if ss_total else float("nan")
    return GroupTest(
        "anova", float(res.statistic), float(len(arrays) - 1), float(len(allv) - len(arrays)),
        float(res.pvalue), "eta_squared", eta2,
    )  # fmt: skip


def compare_groups(groups: Sequence[Iterable[float]]) -> GroupTest:
    """Welch t for two groups, one-way ANOVA for three or more (METRICS.md group differences)."""
    groups = list(groups)
    if len(groups) == 2:
        return welch_t(groups[0], groups[1])
    return one_way_anova(groups)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (METRICS.md: proportions get a 95% Wilson interval)."""
    if n <= 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf(0.5 + level / 2)
    p = successes / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def pearson(x: Iterable[float], y: Iterable[float]) -> tuple[float, float, int]:
    """Pearson r, two-sided p and n over pairs where both values are present."""
    pair = pd.DataFrame({"x": list(x), "y": list(y)}).astype(float).dropna()
    n = len(pair)
    if n < 3 or pair["x"].nunique() < 2 or pair["y"].nunique() < 2:
        return float("nan"), float("nan"), n
    res = stats.pearsonr(pair["x"], pair["y"])
    return float(res.statistic), float(res.pvalue), n


def spearman(x: Iterable[float], y: Iterable[float]) -> tuple[float, float, int]:
    """Spearman rho, two-sided p and n over pairs where both values are present."""
    pair = pd.DataFrame({"x": list(x), "y": list(y)}).astype(float).dropna()
    n = len(pair)
    if n < 3 or pair["x"].nunique() < 2 or pair["y"].nunique() < 2:
        return float("nan"), float("nan"), n
    res = stats.spearmanr(pair["x"], pair["y"])
    return float(res.statistic), float(res.pvalue), n


# ----------------------------------------------------------------------------------------------
# Privacy: small-cell and complementary suppression


def suppress_cells(
    cells: pd.DataFrame,
    n_col: str,
    partitions: Sequence[Sequence[str]],
    min_n: int,
    label_col: str | None = None,
) -> pd.Series:
    """Which cells to hide: primary (n < min_n) plus complementary suppression.

    `partitions` lists column sets; the cells sharing values in one set are siblings that add up
    to a published parent (e.g. all gender groups of one wave and dimension add up to the wave
    total). Within every sibling set, as long as exactly one cell is hidden, or the hidden cells
    together hold fewer than min_n respondents, the smallest visible sibling is hidden too
    (ties broken by label_col, then position), so parent minus visible siblings never isolates
    fewer than min_n respondents. Repeats until no sibling set changes, because hiding a cell for
    one partition can trigger another.
    """
    n = pd.to_numeric(cells[n_col], errors="coerce").fillna(0)
    hidden = n < min_n
    order_key = cells[label_col].astype(str) if label_col else pd.Series(range(len(cells)), index=cells.index)
    changed = True
    while changed:
        changed = False
        for cols in partitions:
            for positions in cells.groupby(list(cols), dropna=False, sort=False).indices.values():
                sib = cells.index[positions]
                hid = sib[hidden.loc[sib].to_numpy()]
                if len(hid) == 0:
                    continue
                if len(hid) == 1 or n.loc[hid].sum() < min_n:
                    visible = sib[~hidden.loc[sib].to_numpy()]
                    if len(visible) == 0:
                        continue
                    candidates = pd.DataFrame({"n": n.loc[visible], "key": order_key.loc[visible]})
                    smallest = candidates.sort_values(["n", "key"], kind="stable").index[0]
                    hidden.loc[smallest] = True
                    changed = True
    return hidden
