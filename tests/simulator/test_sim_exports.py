"""HR, WFM and survey exports: headers and labels of the mapping files, encodings, roster rules, stress effects."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from simulator.center import SHIFTS, build_center, plan_activity
from simulator.config import load_mapping, load_queues, load_stress_items
from simulator.exports import write_stress_survey

MAPPINGS = {
    "roster": "roster_zh.yaml",
    "customer_surveys": "customer_surveys_zh.yaml",
    "stress_survey": "stress_survey_zh.yaml",
    "survey_waves": "survey_waves_zh.yaml",
}


def _read(path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str, keep_default_na=False)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


def _mapping_for(path):
    if path.parent.name == "schedules":
        return load_mapping(f"schedules_{'lon' if '_lon' in path.name else 'sha'}_zh.yaml")
    return load_mapping(MAPPINGS[path.parent.name])


@pytest.mark.parametrize(
    "folder", ["roster", "schedules", "customer_surveys", "stress_survey", "survey_waves"]
)
def test_exports_match_their_mapping(canonical_run, folder):
    files = sorted((canonical_run.data_dir / "landing" / folder).iterdir())
    assert files
    for path in files:
        m = _mapping_for(path)
        assert re.search(m["match"]["filename"], path.name), path.name
        df = _read(path)
        known = set(m["columns"]) | set(m.get("ignore", []))
        assert set(m["match"]["headers_all"]) <= set(df.columns)
        assert (
            set(df.columns) <= known | {"回访号码"}
            if folder == "customer_surveys"
            else set(df.columns) <= known
        )
        for field, labels in m.get("values", {}).items():
            cols = (
                [h for h, f in m["columns"].items() if f.startswith("item:")]
                if field == "*items"
                else [h for h, f in m["columns"].items() if f == field]
            )
            for col in cols:
                values = set(df[col]) - {""}
                assert values <= set(labels), f"{path.name}:{col} has {values - set(labels)}"


def test_roster_exports_both_formats_gb18030_and_team_changes(canonical_run, stats_run):
    folder = stats_run.data_dir / "landing" / "roster"
    suffixes = {p.suffix for p in folder.iterdir()}
    assert suffixes == {".csv", ".xlsx"}
    for p in folder.glob("*.csv"):
        p.read_bytes().decode("gb18030")  # GB18030 as Chinese HR systems export it
        with pytest.raises(UnicodeDecodeError):
            p.read_bytes().decode("utf-8")
    exports = {p.stem: _read(p).set_index("工号") for p in folder.iterdir()}
    first, *_, last = sorted(exports)
    common = exports[first].index.intersection(exports[last].index)
    moved = (exports[first].loc[common, "班组"] != exports[last].loc[common, "班组"]).sum()
    assert moved > 0
    roster = exports[last]
    assert roster.index.str.match(r"^A\d{4}$").all()
    assert {"全职", "临时"} <= set(roster["用工类型"])
    hire = pd.to_datetime(roster["入职日期"])
    tenure = (pd.Timestamp("2026-03-02") - hire).dt.days
    for lo, hi in ((0, 182), (183, 365), (366, 1095), (1096, 10**5)):
        assert ((tenure >= lo) & (tenure <= hi)).any()


def test_schedules_obey_operations_rules():
    """One full month: allowed shifts, <= 5 consecutive work days, >= 7 rest days, breaks inside shifts."""
    queues = load_queues()
    start, days = date(2026, 3, 1), 31
    center = build_center(queues, np.random.default_rng([11, 1]), 1.0, start, days)
    plan_activity(center, np.random.default_rng([11, 2]), start, days)
    s = pd.DataFrame({k: v for k, v in center.schedule.items() if k not in ("first",)})
    s["date"] = [center.schedule["first"] + timedelta(days=int(d)) for d in s.didx]
    s = s[(s.date >= start) & (s.date < start + timedelta(days=days))]
    work = s[s.activity.isin(["上班", "请假"])]
    assert set(work.shift_code) <= set(SHIFTS)
    for code, (begin, length) in SHIFTS.items():
        w = work[work.shift_code == code]
        assert (w.start_min == begin).all() and (w.end_min - w.start_min == length).all()
    always_employed = [
        i
        for i in range(center.n)
        if center.hire[i] <= start and (center.end[i] is None or center.end[i] > date(2026, 3, 31))
    ]
    for agent in always_employed:
        days_on = sorted(work[work.agent == agent].date)
        run, longest = 0, 0
        for k, d in enumerate(days_on):
            run = run + 1 if k and d - days_on[k - 1] == timedelta(days=1) else 1
            longest = max(longest, run)
        assert longest <= 5
        assert (s[(s.agent == agent)].activity == "休息").sum() >= 7
    breaks = s[s.activity.isin(["小休", "午餐", "培训", "会议"])].merge(
        s[s.activity == "上班"][["agent", "didx", "start_min", "end_min"]],
        on=["agent", "didx"],
        suffixes=("", "_shift"),
    )
    assert ((breaks.start_min >= breaks.start_min_shift) & (breaks.end_min <= breaks.end_min_shift)).all()


def test_stress_survey_effects_an_analysis_should_find(tmp_path):
    queues = load_queues()
    start, days = date(2026, 3, 2), 35
    center = build_center(queues, np.random.default_rng([5, 1]), 4.0, start, days)
    teams = {t: 0.6 + 0.3 * (t % 3) / 2 for t in range(len(center.teams))}  # measured occupancy per team
    paths = write_stress_survey(
        center, tmp_path, start + timedelta(days=days - 1), teams, np.random.default_rng(9)
    )
    m = load_mapping("stress_survey_zh.yaml")
    wave = _read(next(p for p in paths if p.name.startswith("stress_survey_") and p.suffix == ".csv"))
    assert list(wave.columns[:2]) == ["序号", "提交答卷时间"]
    items = load_stress_items()
    code_of = {h: f.split(":")[1] for h, f in m["columns"].items() if f.startswith("item:")}
    scores = wave[list(code_of)].replace(m["values"]["*items"]).rename(columns=code_of).astype(float)
    for it in items:  # reverse-keyed items are answered the other way round
        if it["reverse_keyed"]:
            scores[it["item_code"]] = 6 - scores[it["item_code"]]
    dims = {
        d: [i["item_code"] for i in items if i["dimension_code"] == d]
        for d in {i["dimension_code"] for i in items}
    }
    dim_scores = pd.DataFrame({d: scores[c].mean(axis=1) for d, c in dims.items()})
    assert dim_scores.mean().idxmax() == "JC"
    overall = dim_scores.mean(axis=1)
    tenure = wave["5、您在公司的工作年限"]
    assert overall[tenure == "6-12个月"].mean() > overall[tenure != "6-12个月"].mean() + 0.15
    group = wave["6、您所在的项目组"]
    assert overall[group == "电商项目"].mean() > overall[group == "金融项目"].mean()
    # ~91% returned of those distributed; some skipped items and some straight-liners
    waves = _read(next(p for p in paths if p.name == "survey_waves.csv"))
    distributed = waves[waves["调查批次"] == wave_code(paths)]["发放问卷数"].astype(int).sum()
    assert 0.85 <= len(wave) / distributed <= 0.97
    assert (wave[list(code_of)] == "(跳过)").any(axis=1).sum() > 0
    straight = wave[list(code_of)].nunique(axis=1) == 1
    assert straight.sum() > 0


def wave_code(paths) -> str:
    csv_wave = next(p for p in paths if p.name.startswith("stress_survey_") and p.suffix == ".csv")
    return re.match(r"stress_survey_(.+)\.csv", csv_wave.name).group(1)


def test_actual_logins_deviate_from_the_schedule_in_realistic_shares():
    queues = load_queues()
    start, days = date(2026, 3, 2), 28
    center = build_center(queues, np.random.default_rng([12, 1]), 1.0, start, days)
    plan_activity(center, np.random.default_rng([12, 2]), start, days)
    late_min = (center.sessions["login"] - center.sessions["shift_start"]) / 60
    assert 0.12 < (late_min > 0).mean() < 0.3  # late logins
    assert 0.005 < (late_min > 60).mean() < 0.05  # over an hour late: counts as absent
    assert ((late_min >= -10) & (late_min <= 150)).all()
    scheduled = (center.schedule["activity"] == "上班").sum()
    assert 0.9 < len(center.sessions["login"]) / scheduled < 0.995  # a few unplanned absences
