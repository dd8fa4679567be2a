"""Build the agent stress survey marts from the intermediate tables (pandas in, pandas out).

The dbt Python models in dbt/models/marts/stress/ are thin wrappers around these functions, so the
privacy rules and statistics are tested here without dbt. The statistics come from
callcenter.survey_stats. Inputs are response-level tables that live in the intermediate schema;
every output is aggregated and suppressed (docs/stress-survey.md, "Privacy rules"):

- a cell with fewer than min_cell_n respondents is suppressed: n and every statistic null,
  suppressed = true, n_label '<5';
- complementary suppression inside every breakdown (and inside each project group for teams), so
  parent minus visible groups never isolates fewer than min_cell_n respondents;
- comment counts only for groups of at least min_comment_n, with the same complementary rule;
- group tests and workload correlations only use groups that are published.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from callcenter import survey_stats as st

# Breakdowns published per grouping: items only by organisational unit (no demographic slicing
# of single items), dimensions by every demographic the group tests need.
ITEM_GROUPINGS = ("all", "project_group", "team")
TESTED_GROUPINGS = ("gender", "tenure_band", "project_group", "age_band", "education", "marital_status")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Settings:
    min_cell_n: int = 5
    min_comment_n: int = 10
    significance_level: float = 0.05
    small_n_flag: int = 30
    ci_level: float = 0.95

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Settings:
        row = frame.iloc[0].to_dict() if len(frame) else {}
        values = {
            name: (int if field.type == "int" else float)(row[name])
            for name, field in cls.__dataclass_fields__.items()
            if name in row and pd.notna(row[name])
        }
        settings = cls(**values)
        if settings.min_cell_n < 5 or settings.min_comment_n < settings.min_cell_n:
            # METRICS.md: a published cell needs >= 5 respondents; the seed may only tighten it.
            raise ValueError("stress_settings: min_cell_n must be >= 5 and min_comment_n >= min_cell_n")
        return settings


def _nan_to_none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _suppression_partitions(cells: pd.DataFrame, keys: list[str]) -> list[list[str]]:
    """Sibling sets: every breakdown of one wave/measure, plus teams inside their project group."""
    return [keys + ["grouping"], keys + ["grouping", "parent_group"]]


def _team_parents(groups: pd.DataFrame) -> pd.DataFrame:
    """Project group of each team per wave when the team sits in exactly one (teams nest in it)."""
    teams = groups[groups["grouping"] == "team"]
    parents = teams.groupby(["wave", "group_value"])["project_group"].agg(lambda s: sorted(set(s)))
    out = parents.apply(lambda pgs: pgs[0] if len(pgs) == 1 else None).rename("nested_parent").reset_index()
    out["grouping"] = "team"
    return out


def _with_parent(cells: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """parent_group: the team's project group when nested; otherwise a value unique to the cell's
    breakdown (so the extra partition equals the plain breakdown or a singleton)."""
    cells = cells.merge(_team_parents(groups), on=["wave", "grouping", "group_value"], how="left")
    fallback = np.where(cells["grouping"] == "team", "~" + cells["group_value"].astype(str), "*")
    cells["parent_group"] = cells["nested_parent"].where(cells["nested_parent"].notna(), fallback)
    return cells.drop(columns="nested_parent")


def _apply_suppression(
    cells: pd.DataFrame, keys: list[str], min_n: int, stat_cols: list[str]
) -> pd.DataFrame:
    cells = cells.copy()
    hidden = st.suppress_cells(
        cells, "n", _suppression_partitions(cells, keys), min_n, label_col="group_value"
    )
    primary = cells["n"] < min_n
    cells["suppressed"] = hidden
    cells["n_label"] = np.where(primary, f"<{min_n}", np.where(hidden, f">={min_n}", cells["n"].astype(str)))
    cells.loc[hidden, stat_cols + ["n"]] = None
    return cells


# ----------------------------------------------------------------------------------------------


def build_wave(flagged: pd.DataFrame, waves: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """agg_stress_wave: wave x ('all' | project group): distributed, returned, response rate,
    completion, straight-lining and comment counts."""
    flagged = flagged.copy()
    frames = []
    for grouping in ("all", "project_group"):
        key = flagged["project_group"] if grouping == "project_group" else "all"
        frames.append(flagged.assign(grouping=grouping, group_value=key))
    rows = pd.concat(frames, ignore_index=True) if frames else flagged
    agg = (
        rows.groupby(["wave", "grouping", "group_value"], dropna=False)
        .agg(
            returned=("response_id", "count"),
            complete=("is_complete", "sum"),
            straightlined=("is_straightlined", "sum"),
            comments=("has_comment", "sum"),
        )
        .reset_index()
    )
    dist = waves.groupby(["wave", "project_group"], as_index=False)["distributed"].sum()
    dist = pd.concat(
        [
            dist.rename(columns={"project_group": "group_value"}).assign(grouping="project_group"),
            dist.groupby("wave", as_index=False)["distributed"]
            .sum()
            .assign(grouping="all", group_value="all"),
        ],
        ignore_index=True,
    )
    out = dist.merge(agg, on=["wave", "grouping", "group_value"], how="outer")
    out["returned"] = out["returned"].fillna(0).astype("int64")
    out["response_rate_num"] = out["returned"]
    out["response_rate_den"] = out["distributed"]
    out["n"] = out["returned"]
    out["parent_group"] = "*"
    keys = ["wave"]
    hidden = st.suppress_cells(
        out, "n", _suppression_partitions(out, keys), settings.min_cell_n, "group_value"
    )
    hidden_comments = st.suppress_cells(
        out, "n", _suppression_partitions(out, keys), settings.min_comment_n, "group_value"
    )
    out["completion_num"] = out["complete"].where(~hidden)
    out["completion_den"] = out["returned"].where(~hidden)
    out["straightlined"] = out["straightlined"].where(~hidden)
    out["comments"] = out["comments"].where(~hidden_comments)
    out["suppressed"] = hidden
    out["comments_suppressed"] = hidden_comments
    cols = [
        "wave", "grouping", "group_value", "distributed", "returned", "response_rate_num",
        "response_rate_den", "completion_num", "completion_den", "straightlined", "comments",
        "suppressed", "comments_suppressed",
    ]  # fmt: skip
    return _typed(out[cols].sort_values(["wave", "grouping", "group_value"]).reset_index(drop=True))


DIMENSION_STATS = (
    "n", "mean_score", "sd_score", "ci_low", "ci_high", "high_stress_num", "high_stress_den",
    "high_stress_wilson_low", "high_stress_wilson_high", "t_vs_midpoint", "t_df", "p_vs_midpoint", "stressor_type",
)  # fmt: skip


def _dimension_meta(items: pd.DataFrame) -> pd.DataFrame:
    return items[
        ["instrument", "dimension_code", "dimension_zh", "dimension_en", "dimension_order", "midpoint",
         "high_score_threshold"]
    ].drop_duplicates(["instrument", "dimension_code"])  # fmt: skip


def build_dimension(
    scores: pd.DataFrame, groups: pd.DataFrame, items: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """agg_stress_dimension: wave x grouping x group value x dimension."""
    scored = scores.dropna(subset=["dimension_score"])
    joined = scored.merge(groups, on=["response_id", "wave"])
    meta = _dimension_meta(items)
    keys = ["wave", "instrument", "dimension_code"]
    records = []
    for (wave, instrument, dim, grouping, value), cell in joined.groupby(keys + ["grouping", "group_value"]):
        records.append(
            {"wave": wave, "instrument": instrument, "dimension_code": dim, "grouping": grouping,
             "group_value": value, "values": cell["dimension_score"].to_numpy()}
        )  # fmt: skip
    cells = pd.DataFrame(records, columns=keys + ["grouping", "group_value", "values"])
    cells = cells.merge(meta, on=["instrument", "dimension_code"], how="left")
    stats_rows = []
    for row in cells.itertuples(index=False):
        ci = st.mean_ci(row.values, settings.ci_level)
        test = st.one_sample_t(row.values, row.midpoint)
        high = int((row.values >= row.high_score_threshold).sum())
        low, up = st.wilson_interval(high, ci.n, settings.ci_level)
        explicit = bool(ci.mean > row.midpoint and test.p_value < settings.significance_level)
        stats_rows.append(
            {"n": ci.n, "mean_score": ci.mean, "sd_score": ci.sd, "ci_low": ci.ci_low, "ci_high": ci.ci_high,
             "high_stress_num": high, "high_stress_den": ci.n, "high_stress_wilson_low": low,
             "high_stress_wilson_high": up, "t_vs_midpoint": test.t, "t_df": test.df, "p_vs_midpoint": test.p_value,
             "stressor_type": "explicit" if explicit else "implicit"}
        )  # fmt: skip
    stat_frame = pd.DataFrame(stats_rows, index=cells.index, columns=list(DIMENSION_STATS))
    cells = pd.concat([cells.drop(columns="values"), stat_frame], axis=1)
    cells = _with_parent(cells, groups)
    stat_cols = [
        "mean_score", "sd_score", "ci_low", "ci_high", "high_stress_num", "high_stress_den",
        "high_stress_wilson_low", "high_stress_wilson_high", "t_vs_midpoint", "t_df", "p_vs_midpoint",
        "stressor_type",
    ]  # fmt: skip
    cells = cells.astype({c: "object" for c in stat_cols + ["n"]})
    cells = _apply_suppression(cells, keys, settings.min_cell_n, stat_cols)
    cells["small_n"] = cells["n"].map(lambda n: None if n is None else bool(n < settings.small_n_flag))
    cols = [
        "wave", "instrument", "grouping", "group_value", "dimension_code", "dimension_zh", "dimension_en",
        "dimension_order", "n", "n_label", *stat_cols[:4], "high_stress_num", "high_stress_den",
        "high_stress_wilson_low", "high_stress_wilson_high", "midpoint", "t_vs_midpoint", "t_df",
        "p_vs_midpoint", "stressor_type", "small_n", "suppressed",
    ]  # fmt: skip
    out = cells[cols].sort_values(["wave", "instrument", "grouping", "group_value", "dimension_order"])
    return _typed(out.reset_index(drop=True))


def build_item(
    answers: pd.DataFrame, groups: pd.DataFrame, items: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """agg_stress_item: wave x organisational unit x item: means and rank (1 = most stressful)."""
    answered = answers[answers["is_answered"].astype(bool)]
    joined = answered.merge(groups[groups["grouping"].isin(ITEM_GROUPINGS)], on=["response_id", "wave"])
    meta = items[
        ["instrument", "item_code", "item_order", "dimension_code", "dimension_zh", "dimension_en", "text_zh",
         "text_en", "reverse_keyed", "high_score_threshold"]
    ]  # fmt: skip
    keys = ["wave", "instrument", "item_code"]
    cells = (
        joined.groupby(keys + ["grouping", "group_value"])
        .agg(
            n=("score", "count"),
            mean_answer=("answer", "mean"),
            mean_score=("score", "mean"),
            sd_score=("score", lambda s: s.std(ddof=1)),
            scores=("score", lambda s: s.to_numpy()),
        )
        .reset_index()
        .merge(meta, on=["instrument", "item_code"], how="left")
    )
    cells["agree_num"] = [
        int((s >= t).sum()) for s, t in zip(cells["scores"], cells["high_score_threshold"], strict=True)
    ]
    cells["agree_den"] = cells["n"]
    cells = _with_parent(cells.drop(columns=["scores", "high_score_threshold"]), groups)
    stat_cols = ["mean_answer", "mean_score", "sd_score", "agree_num", "agree_den"]
    cells = cells.astype({c: "object" for c in stat_cols + ["n"]})
    cells = _apply_suppression(cells, keys, settings.min_cell_n, stat_cols)
    visible = cells[~cells["suppressed"]].copy()
    visible["stress_rank"] = (
        visible.astype({"mean_score": float})
        .groupby(["wave", "instrument", "grouping", "group_value"])["mean_score"]
        .rank(method="min", ascending=False)
    )
    cells = cells.merge(visible[keys + ["grouping", "group_value", "stress_rank"]], how="left",
                        on=keys + ["grouping", "group_value"])  # fmt: skip
    cols = [
        "wave", "instrument", "grouping", "group_value", "item_code", "item_order", "dimension_code",
        "dimension_zh", "dimension_en", "text_zh", "text_en", "reverse_keyed", "n", "n_label", "mean_answer",
        "mean_score", "sd_score", "agree_num", "agree_den", "stress_rank", "suppressed",
    ]  # fmt: skip
    out = cells[cols].sort_values(["wave", "instrument", "grouping", "group_value", "item_order"])
    return _typed(out.reset_index(drop=True))


def build_reliability(answers: pd.DataFrame, items: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """agg_stress_reliability: per wave and instrument, for each dimension and for all items
    ('overall'): a scale row (alpha, KMO, Bartlett) and item rows (alpha if deleted, item-rest r,
    KMO of the item), all from reverse-keyed scores with pairwise-complete statistics."""
    meta = items.set_index("item_code")
    rows = []
    for (wave, instrument), part in answers.groupby(["wave", "instrument"]):
        wide = part.pivot_table(index="response_id", columns="item_code", values="score", aggfunc="first")
        order = [
            c for c in meta[meta["instrument"] == instrument].sort_values("item_order").index if c in wide
        ]
        wide = wide.reindex(columns=order)
        scopes = [("overall", None, None, order)]
        for dim, dim_items in meta.loc[order].groupby("dimension_code", sort=False):
            scopes.append(("dimension", dim, dim_items["dimension_en"].iloc[0], list(dim_items.index)))
        for scope, dim, _, cols in scopes:
            block = wide[cols].dropna(how="all")
            base = {"wave": wave, "instrument": instrument, "scope": scope,
                    "dimension_code": dim if dim is not None else "overall"}  # fmt: skip
            n = len(block)
            publish = n >= settings.min_cell_n and len(cols) >= 2
            scale = {"row_type": "scale", "item_code": None, "n_respondents": n if publish else None,
                     "n_items": len(cols), "suppressed": not publish}  # fmt: skip
            item_stats = {}
            if publish:
                k = st.kmo(block)
                b = st.bartlett_sphericity(block)
                scale.update(alpha=st.cronbach_alpha(block), kmo=k.overall, bartlett_chi2=b.chi2,
                             bartlett_df=b.df, bartlett_p=b.p_value)  # fmt: skip
                item_stats = {
                    "alpha_if_item_deleted": st.alpha_if_item_deleted(block),
                    "item_rest_r": st.item_rest_correlation(block),
                    "kmo": k.per_item,
                }
            rows.append({**base, **scale})
            for code in cols:
                # An item answered by fewer than min_cell_n respondents gets no item statistics.
                answered = int(block[code].notna().sum())
                shown = publish and answered >= settings.min_cell_n
                stats_shown = {name: series.get(code) for name, series in item_stats.items()} if shown else {}
                rows.append(
                    {**base, "row_type": "item", "item_code": code, "n_respondents": answered if shown else None,
                     "n_items": len(cols), "suppressed": not shown, **stats_shown}
                )  # fmt: skip
    cols = [
        "wave", "instrument", "scope", "dimension_code", "row_type", "item_code", "n_respondents", "n_items",
        "alpha", "alpha_if_item_deleted", "item_rest_r", "kmo", "bartlett_chi2", "bartlett_df", "bartlett_p",
        "suppressed",
    ]  # fmt: skip
    out = pd.DataFrame(rows).reindex(columns=cols)
    names = items[["instrument", "dimension_code", "dimension_zh", "dimension_en"]].drop_duplicates()
    out = out.merge(names, on=["instrument", "dimension_code"], how="left")
    out.loc[out["scope"] == "overall", ["dimension_zh", "dimension_en"]] = ["全部条目", "All items"]
    return _typed(out[cols[:4] + ["dimension_zh", "dimension_en"] + cols[4:]])


def build_group_tests(
    scores: pd.DataFrame, groups: pd.DataFrame, dimension_mart: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """agg_stress_group_tests: per wave, dimension and demographic, Welch t (2 groups) or one-way
    ANOVA (3+), over the groups that agg_stress_dimension publishes ('unknown' left out)."""
    scored = scores.dropna(subset=["dimension_score"]).merge(groups, on=["response_id", "wave"])
    published = dimension_mart[
        (~dimension_mart["suppressed"].astype(bool))
        & dimension_mart["grouping"].isin(TESTED_GROUPINGS)
        & (dimension_mart["group_value"] != UNKNOWN)
    ]
    keys = ["wave", "instrument", "dimension_code", "grouping"]
    breakdowns = dimension_mart[dimension_mart["grouping"].isin(TESTED_GROUPINGS)][
        keys + ["dimension_zh", "dimension_en"]
    ].drop_duplicates(keys)
    visible = published.groupby(keys)["group_value"].agg(list)
    rows = []
    for b in breakdowns.itertuples(index=False):
        key = (b.wave, b.instrument, b.dimension_code, b.grouping)
        values = sorted(visible.get(key, []))
        cell = scored[
            (scored["wave"] == b.wave) & (scored["instrument"] == b.instrument)
            & (scored["dimension_code"] == b.dimension_code) & (scored["grouping"] == b.grouping)
        ]  # fmt: skip
        samples = [cell.loc[cell["group_value"] == v, "dimension_score"].to_numpy() for v in values]
        row = {**b._asdict(), "n_groups": len(values), "groups_tested": "|".join(values),
               "n_total": int(sum(len(s) for s in samples))}  # fmt: skip
        if len(values) >= 2:
            res = st.compare_groups(samples)
            means = {v: float(np.mean(s)) for v, s in zip(values, samples, strict=True)}
            hi, lo = max(means, key=means.get), min(means, key=means.get)
            row.update(test=res.test, statistic=res.statistic, df1=res.df1, df2=res.df2, p_value=res.p_value,
                       significant=bool(res.p_value < settings.significance_level), effect_size_name=res.effect_size_name,
                       effect_size=res.effect_size, cohens_d=res.cohens_d, highest_group=hi,
                       highest_mean=means[hi], lowest_group=lo, lowest_mean=means[lo])  # fmt: skip
        rows.append(row)
    cols = [
        "wave", "instrument", "dimension_code", "dimension_zh", "dimension_en", "grouping", "n_groups",
        "groups_tested", "n_total", "test", "statistic", "df1", "df2", "p_value", "significant",
        "effect_size_name", "effect_size", "cohens_d", "highest_group", "highest_mean", "lowest_group",
        "lowest_mean",
    ]  # fmt: skip
    return _typed(pd.DataFrame(rows).reindex(columns=cols))


WORKLOAD_MEASURES = (
    "occupancy",
    "contacts_per_logged_in_hour",
    "night_shifts_per_agent_month",
    "consecutive_work_days_max_avg",
)


def build_workload(dimension_mart: pd.DataFrame, team_workload: pd.DataFrame) -> pd.DataFrame:
    """agg_stress_workload: wave x team x dimension, the team's (suppressed) stress score next to its
    measured workload. Joined on wave and team only."""
    teams = dimension_mart[dimension_mart["grouping"] == "team"].rename(columns={"group_value": "team"})
    teams = teams[["wave", "instrument", "team", "dimension_code", "dimension_zh", "dimension_en", "n", "n_label",
                   "mean_score", "high_stress_num", "high_stress_den", "suppressed"]]  # fmt: skip
    work = team_workload.copy()
    for col in ("handled", "logged_in_s", "occupancy_num", "occupancy_den", "night_shifts", "agent_months",
                "consecutive_work_days_max_sum"):  # fmt: skip
        work[col] = pd.to_numeric(work[col], errors="coerce").astype(float)
    work["occupancy"] = work["occupancy_num"] / work["occupancy_den"].replace(0, np.nan)
    work["contacts_per_logged_in_hour"] = work["handled"] / (work["logged_in_s"].replace(0, np.nan) / 3600)
    work["night_shifts_per_agent_month"] = work["night_shifts"] / work["agent_months"].replace(0, np.nan)
    work["consecutive_work_days_max_avg"] = work["consecutive_work_days_max_sum"] / work[
        "agent_months"
    ].replace(0, np.nan)
    work_cols = ["agents", "occupancy_num", "occupancy_den", "handled", "logged_in_s", "agent_months",
                 "night_shifts", "long_run_agent_months", *WORKLOAD_MEASURES]  # fmt: skip
    out = teams.merge(work[["wave", "team", *work_cols]], on=["wave", "team"], how="left")
    out["has_workload"] = out["occupancy_den"].notna() | out["agent_months"].notna()
    return _typed(out.sort_values(["wave", "instrument", "team", "dimension_code"]).reset_index(drop=True))


def build_workload_correlation(workload_mart: pd.DataFrame) -> pd.DataFrame:
    """agg_stress_workload_correlation: per wave, dimension and workload measure, Pearson and
    Spearman correlation across the published teams, with the number of teams."""
    rows = []
    published = workload_mart[~workload_mart["suppressed"].astype(bool)]
    keys = ["wave", "instrument", "dimension_code", "dimension_zh", "dimension_en"]
    for key in workload_mart[keys].drop_duplicates().itertuples(index=False, name=None):
        vis = published.merge(pd.DataFrame([key], columns=keys), on=keys)
        for measure in WORKLOAD_MEASURES:
            r, p, n = st.pearson(vis["mean_score"], vis[measure])
            rho, p_rho, _ = st.spearman(vis["mean_score"], vis[measure])
            rows.append({**dict(zip(keys, key, strict=True)), "workload_measure": measure, "n_teams": n,
                         "pearson_r": r, "pearson_p": p, "spearman_rho": rho, "spearman_p": p_rho})  # fmt: skip
    cols = keys + ["workload_measure", "n_teams", "pearson_r", "pearson_p", "spearman_rho", "spearman_p"]
    return _typed(pd.DataFrame(rows).reindex(columns=cols))


TEXT_COLUMNS = {
    "wave", "instrument", "grouping", "group_value", "dimension_code", "dimension_zh", "dimension_en", "n_label",
    "stressor_type", "item_code", "text_zh", "text_en", "scope", "row_type", "test", "effect_size_name",
    "groups_tested", "highest_group", "lowest_group", "team", "workload_measure",
}  # fmt: skip
BOOL_COLUMNS = {
    "suppressed",
    "comments_suppressed",
    "small_n",
    "reverse_keyed",
    "significant",
    "has_workload",
}
COUNT_COLUMNS = {
    "n", "n_respondents", "n_items", "n_groups", "n_total", "n_teams", "distributed", "returned", "straightlined",
    "comments", "item_order", "dimension_order", "bartlett_df", "agents", "agent_months", "long_run_agent_months",
}  # fmt: skip


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Fixed column types whatever the data (a column that is entirely suppressed stays numeric):
    text, nullable boolean, nullable integer for counts and num/den, float for the rest."""
    out = frame.copy()
    for col in out.columns:
        if col in TEXT_COLUMNS:
            out[col] = out[col].astype("string")
        elif col in BOOL_COLUMNS:
            out[col] = out[col].astype("boolean")
        elif col in COUNT_COLUMNS or col.endswith(("_num", "_den")):
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
        else:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out
