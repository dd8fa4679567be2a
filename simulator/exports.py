"""HR, WFM and survey exports with the Chinese headers of ``ingestion/mappings/*.yaml``.

Headers and value labels are looked up in the mapping files, never retyped, so an export the
simulator writes is by construction one the mapped reader accepts.
"""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook

from simulator.center import Center
from simulator.config import SITE_NAME_ZH, headers, load_mapping, load_stress_items, value_label
from simulator.truth import local_offsets

XLSX_MAX_CELLS = 30_000  # larger exports go to CSV: openpyxl manages only ~10-20k cells/s here


FIXED_TIME = datetime(2026, 1, 1)


def _normalize_zip(path: Path) -> None:
    """Fixed timestamps inside the .xlsx zip, so the same seed gives byte-identical files."""
    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":  # openpyxl stamps the save time as "modified"
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", data)
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def write_rows(path: Path, header: list[str], rows: list[list], encoding: str = "gb18030") -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if path.suffix == ".xlsx":
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Sheet1")
        ws.append(header)
        for r in rows:
            ws.append(r)
        wb.properties.creator = "callcenter simulate"
        wb.properties.created = wb.properties.modified = FIXED_TIME
        wb.save(tmp)
        _normalize_zip(tmp)
    else:
        with tmp.open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    tmp.replace(path)
    return len(rows)


def write_roster(center: Center, landing: Path) -> list[Path]:
    m = load_mapping("roster_zh.yaml")
    cols = [
        "agent_id",
        "agent_name",
        "team",
        "supervisor",
        "site_code",
        "skills",
        "employment_type",
        "hire_date",
        "end_date",
    ]
    header = [headers(m, c) for c in cols]
    qcodes = [q.code for q in center.queues]
    written = []
    for k, d in enumerate(center.export_dates):
        rows = []
        for i in range(center.n):
            if center.hire[i] > d:
                continue
            team = center.teams[center.team_at(i, d)]
            end = center.end[i]
            rows.append(
                [
                    center.agent_id[i],
                    center.name[i],
                    team["name"],
                    team["supervisor"],
                    value_label(m, "site_code", center.site[i]),
                    ";".join(qcodes[s] for s in center.skills[i]),
                    value_label(m, "employment_type", center.employment[i]),
                    center.hire[i].isoformat(),
                    end.isoformat() if end and end <= d else "",
                ]
            )
        ext = "xlsx" if k % 2 == 0 and len(rows) * len(header) <= XLSX_MAX_CELLS else "csv"
        path = landing / "roster" / f"roster_{d.isoformat()}.{ext}"
        write_rows(path, header, rows)
        written.append(path)
    return written


def _local_strings(first: date, didx: np.ndarray, minute: np.ndarray, fmt: str) -> list[str]:
    base = np.datetime64(first.isoformat(), "s")
    ts = base + (didx * 86400 + minute * 60).astype("timedelta64[s]")
    return pc.strftime(pa.array(ts), format=fmt).to_pylist()


def write_schedules(center: Center, landing: Path, start: date, end: date) -> list[Path]:
    sched = center.schedule
    first: date = sched["first"]
    dates = np.array([first + timedelta(days=int(i)) for i in range(int(sched["didx"].max()) + 1)])
    day = dates[sched["didx"]]
    in_span = (day >= start) & (day <= end)
    month = np.array([d.strftime("%Y-%m") for d in day], dtype=object)
    written = []
    for site in sorted(set(center.site)):
        m = load_mapping(f"schedules_{site}_zh.yaml")
        header = [
            headers(m, c)
            for c in ("agent_id", "schedule_date", "shift_code", "start_ts", "end_ts", "activity")
        ]
        for mon in sorted(set(month[in_span])):
            sel = np.flatnonzero(in_span & (sched["site"] == site) & (month == mon))
            if not len(sel):
                continue
            order = sel[np.lexsort((sched["start_min"][sel], sched["didx"][sel], sched["agent"][sel]))]
            rows = list(
                zip(
                    np.array(center.agent_id, dtype=object)[sched["agent"][order]].tolist(),
                    _local_strings(first, sched["didx"][order], np.zeros(len(order), int), "%Y-%m-%d"),
                    sched["shift_code"][order].tolist(),
                    _local_strings(first, sched["didx"][order], sched["start_min"][order], "%Y-%m-%d %H:%M"),
                    _local_strings(first, sched["didx"][order], sched["end_min"][order], "%Y-%m-%d %H:%M"),
                    sched["activity"][order].tolist(),
                    strict=True,
                )
            )
            ext = "xlsx" if site == "lon" and len(rows) * len(header) <= XLSX_MAX_CELLS else "csv"
            path = landing / "schedules" / f"schedule_{mon}_{site}.{ext}"
            write_rows(path, header, rows)
            written.append(path)
    return written


CSAT_COMMENTS = {
    1: ["等了太久，问题也没解决", "转了好几次，很失望"],
    2: ["客服态度一般", "处理太慢"],
    3: ["还行", ""],
    4: ["解答清楚", "挺好的"],
    5: ["非常满意，客服很专业", "问题很快解决了，谢谢"],
}


def survey_responses(contacts: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Post-contact survey answers for handled contacts (~25% respond; scores follow the experience)."""
    n = len(contacts)
    mood = (
        3.2
        + 1.2 * contacts["truly_resolved"].to_numpy()
        - 0.6 * contacts["transferred"].to_numpy()
        - 0.7 * contacts["complaint"].to_numpy()
        - np.clip(contacts["total_wait_s"].to_numpy() / 120.0, 0, 1.5)
    )
    respond_p = 0.23 + 0.06 * (np.abs(mood - 3.3) > 1.2)
    responded = rng.random(n) < respond_p
    c = contacts[responded].reset_index(drop=True)
    mood = mood[responded]
    k = len(c)
    csat = np.clip(np.rint(mood + rng.normal(0, 0.7, k)), 1, 5).astype(int)
    nps = np.clip(np.rint(2.2 * csat - 1.5 + rng.normal(0, 1.2, k)), 0, 10).astype(int)
    agrees = rng.random(k) < 0.88
    said_resolved = np.where(agrees, c["truly_resolved"].to_numpy(), ~c["truly_resolved"].to_numpy())
    skip_nps = rng.random(k) < 0.06
    comment_pick = rng.random(k)
    comments = [
        (CSAT_COMMENTS[s][int(p * len(CSAT_COMMENTS[s]))] if p < 0.5 else "")
        for s, p in zip(csat, comment_pick, strict=True)
    ]
    return pd.DataFrame(
        {
            "seg_row": c["seg_row"],
            "responded_at": c["last_end"].to_numpy() + rng.integers(300, 7200, k),
            "csat": csat,
            "nps": np.where(skip_nps, -1, nps),
            "resolved": said_resolved,
            "comment": comments,
        }
    )


def write_csat(responses: pd.DataFrame, landing: Path, label: str, index: int, tz: str) -> Path:
    m = load_mapping("customer_surveys_zh.yaml")
    header = [headers(m, f) for f in ("contact_id", "responded_at", "csat", "nps", "resolved", "comment")] + [
        "回访号码"
    ]
    yes, no = value_label(m, "resolved", True), value_label(m, "resolved", False)
    n = len(responses)
    ext = "xlsx" if index % 3 == 1 and n * len(header) <= XLSX_MAX_CELLS else "csv"
    path = landing / "customer_surveys" / f"csat_{label}.{ext}"
    epoch = responses["responded_at"].to_numpy().astype(np.int64)
    base, offsets = local_offsets(tz, int(epoch.min()) if n else 0, int(epoch.max()) if n else 0)
    local = epoch + offsets[(epoch - base) // 1800] if n else epoch
    local_text = pc.cast(pa.array(local.astype("datetime64[s]")), pa.string())  # 'YYYY-MM-DD HH:MM:SS'
    nps = responses["nps"].to_numpy()
    cols = [
        pa.array(responses["contact_ref"].to_numpy(dtype=object), pa.string()),
        local_text,
        pc.cast(pa.array(responses["csat"].to_numpy().astype(np.int64)), pa.string()),
        pc.if_else(pa.array(nps < 0), "", pc.cast(pa.array(nps.astype(np.int64)), pa.string())),
        pc.if_else(pa.array(responses["resolved"].to_numpy().astype(bool)), yes, no),
        pa.array(responses["comment"].to_numpy(dtype=object), pa.string()),
        pa.array(responses["masked_number"].to_numpy(dtype=object), pa.string()),
    ]
    if ext == "xlsx" or not all(_csv_plain(c) for c in cols):
        rows = [list(r) for r in zip(*(c.to_pylist() for c in cols), strict=True)]
        for r in rows:
            r[2] = int(r[2])
            r[3] = int(r[3]) if r[3] else ""
        write_rows(path, header, rows, encoding="utf-8-sig")
        return path
    # what csv.writer writes when no field needs quoting: comma-separated, CRLF line ends (UTF-8 with BOM)
    lines = pc.binary_join_element_wise(*cols, ",").to_pylist() if n else []
    text = "\r\n".join([",".join(header), *lines]) + "\r\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(text.encode("utf-8-sig"))
    tmp.replace(path)
    return path


def _csv_plain(col: pa.Array) -> bool:
    """No value needs CSV quoting (no comma, quote or line break)."""
    return not pc.any(pc.match_substring_regex(col, '[,"\r\n]')).as_py()


TENURE_EDGES = [(0, 182, "<6m"), (183, 365, "6-12m"), (366, 1095, "1-3y"), (1096, 10**6, ">3y")]
PROJECT_EFFECT = {"电商项目": 0.35, "通信项目": 0.1, "金融项目": 0.0, "国际项目": -0.2}
DIMENSION_BASE = {"JC": 3.55, "RS": 2.85, "OC": 2.95, "CD": 3.15, "FP": 3.25}


def tenure_band(hire: date, at: date) -> str:
    days = (at - hire).days
    return next(label for lo, hi, label in TENURE_EDGES if lo <= days <= hi)


def write_stress_survey(
    center: Center, landing: Path, end: date, team_occupancy: dict[int, float], rng
) -> list[Path]:
    """Two waves (baseline before the span, current at its end), 问卷星-style, plus the distribution list."""
    m = load_mapping("stress_survey_zh.yaml")
    mw = load_mapping("survey_waves_zh.yaml")
    items = load_stress_items()
    item_header = {v.split(":", 1)[1]: k for k, v in m["columns"].items() if v.startswith("item:")}
    missing = [it["item_code"] for it in items if it["item_code"] not in item_header]
    if missing:
        raise ValueError(f"stress items {missing} have no column in stress_survey_zh.yaml")
    label = {v: k for k, v in m["values"]["*items"].items()}
    occ_values = np.array(list(team_occupancy.values())) if team_occupancy else np.array([0.75])
    occ_mean = float(occ_values.mean())
    quarter = (end.month - 1) // 3 + 1
    waves = [
        (
            f"{end.year - (quarter == 1)}Q{4 if quarter == 1 else quarter - 1}",
            end - timedelta(days=92),
            "xlsx",
        ),
        (f"{end.year}Q{quarter}", end, "csv"),
    ]
    fixed = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
    demographic = [
        headers(m, f)
        for f in ("gender", "age_band", "education", "marital_status", "tenure_band", "project_group", "team")
    ]
    header = fixed + demographic + [item_header[it["item_code"]] for it in items] + [headers(m, "comment")]
    written, wave_rows = [], []
    for wave, day, ext in waves:
        active = [
            i
            for i in range(center.n)
            if center.hire[i] <= day and (center.end[i] is None or center.end[i] >= day)
        ]
        teams = {
            i: center.team_at(i, min(max(day, center.export_dates[0]), center.export_dates[-1]))
            for i in active
        }
        groups: dict[str, list[int]] = {}
        for i in active:
            groups.setdefault(center.teams[teams[i]]["project_group"], []).append(i)
        for g, members in sorted(groups.items()):
            wave_rows.append([wave, g, len(members)])
        returned = np.array([i for i in active if rng.random() < 0.9125], dtype=int)
        returned = returned[rng.permutation(len(returned))]
        k, n_items = len(returned), len(items)
        team_idx = np.array([teams[i] for i in returned], dtype=int)
        bands = np.array([tenure_band(center.hire[i], day) for i in returned], dtype=object)
        shift = (
            np.where(bands == "6-12m", 0.45, 0.0)
            + np.array([PROJECT_EFFECT.get(center.teams[t]["project_group"], 0.0) for t in team_idx])
            + 2.5 * (np.array([team_occupancy.get(int(t), occ_mean) for t in team_idx]) - occ_mean)
            + rng.normal(0, 0.45, k)
        )
        base = np.array([DIMENSION_BASE.get(it["dimension_code"], 3.0) for it in items])
        reverse = np.array([it["reverse_keyed"] for it in items])
        values = np.clip(np.rint(base[None, :] + shift[:, None] + rng.normal(0, 0.75, (k, n_items))), 1, 5)
        values = np.where(reverse[None, :], 6 - values, values).astype(int)
        straight = rng.random(k) < 0.04
        values[straight] = rng.choice([3, 4], size=int(straight.sum()))[:, None]
        labels = np.array([label[v] for v in range(1, 6)], dtype=object)[values - 1]
        skipping = np.flatnonzero(~straight & (rng.random(k) < 0.05))  # incomplete: a few items skipped
        for r in skipping:
            labels[r, rng.choice(n_items, size=int(rng.integers(1, 5)), replace=False)] = label[None]
        submitted = (
            pd.Timestamp(day)
            - pd.to_timedelta(rng.integers(0, 7, k), unit="D")
            + pd.to_timedelta(rng.integers(9 * 3600, 21 * 3600, k), unit="s")
        ).strftime("%Y/%m/%d %H:%M:%S")
        took = rng.integers(90, 600, k)
        ip = rng.integers(1, 255, (k, 2))
        comment = rng.random(k) < 0.15
        lab = {
            f: {v: value_label(m, f, v) for v in m["values"][f].values()}
            for f in m["values"]
            if f != "*items"
        }
        rows = [
            [
                serial + 1,
                submitted[serial],
                f"{took[serial]}秒",
                "微信",
                "N/A",
                f"116.228.{ip[serial, 0]}.{ip[serial, 1]}({SITE_NAME_ZH.get(center.site[i], '')})",
                lab["gender"][center.gender[i]],
                lab["age_band"][center.age_band[i]],
                lab["education"][center.education[i]],
                lab["marital_status"][center.marital[i]],
                lab["tenure_band"][bands[serial]],
                center.teams[team_idx[serial]]["project_group"],
                center.teams[team_idx[serial]]["name"],
                *labels[serial].tolist(),
                "希望合理安排排班，增加休息时间" if comment[serial] else "",
            ]
            for serial, i in enumerate(returned.tolist())
        ]
        if len(rows) * len(header) > XLSX_MAX_CELLS:
            ext = "csv"
        path = landing / "stress_survey" / f"stress_survey_{wave}.{ext}"
        write_rows(path, header, rows, encoding="utf-8-sig")
        written.append(path)
    wave_header = [headers(mw, f) for f in ("wave", "project_group", "distributed")]
    path = landing / "survey_waves" / "survey_waves.csv"
    write_rows(path, wave_header, wave_rows, encoding="gb18030")
    written.append(path)
    return written
