"""Write the Superset import bundle (dashboards/bundle/) from the declarations below.

The bundle YAML is what Superset imports and what reviewers diff; this file is where it is
edited: datasets, metrics (num/den, glossary text), charts, layouts and native filters are
declared once here, UUIDs are derived from names (uuid5) so they never change between runs.
Targets drawn as reference lines come from the dbt seed dbt/seeds/queue_config.csv.

    .venv/bin/python -m dashboards.generate_bundle          # rewrite dashboards/bundle/
    .venv/bin/python -m dashboards.generate_bundle --check  # fail if the bundle is stale
"""

from __future__ import annotations

import argparse
import csv
import functools
import re
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUNDLE = HERE / "bundle"
SEED = REPO / "dbt" / "seeds" / "queue_config.csv"
GLOSSARY = "docs/metrics.md"
NAMESPACE = uuid.UUID("6f1c2b1e-3c55-4d1b-9a59-2f6ad0c5c0de")
DATABASE_NAME = "serving"
SCHEMA = "marts"


def uid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


DATABASE_UUID = uid("database", DATABASE_NAME)


def seed_targets() -> dict[str, float]:
    """Center-wide targets: the strictest value over the configured queues."""
    rows = list(csv.DictReader(SEED.open(encoding="utf-8")))
    return {
        "sl": max(float(r["sl_target"]) for r in rows),
        "answer_rate": max(float(r["answer_rate_target"]) for r in rows),
        "abandon_rate": min(float(r["abandon_rate_target"]) for r in rows),
        "asa": min(float(r["asa_target_s"]) for r in rows),
    }


# --- metrics ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    name: str
    zh: str
    en: str
    expression: str
    d3format: str
    description: str
    anchor: str

    def glossary_description(self) -> str:
        """The glossary's own definition when docs/metrics.md documents the metric's columns."""
        column = re.match(r"sum\((\w+)\)", self.expression)
        entry = glossary_entries().get(column.group(1)) if column else None
        # a plain sum only takes a row that documents exactly that column (not one of several)
        if entry and ("nullif" in self.expression or entry[2] == 1):
            name, definition, _ = entry
            return f"{name}: {definition}. Source: {GLOSSARY}"
        return f"{self.description} See {GLOSSARY}."

    def as_yaml(self) -> dict:
        return {
            "metric_name": self.name,
            "verbose_name": f"{self.zh} {self.en}",
            "expression": self.expression,
            "d3format": self.d3format,
            "description": self.glossary_description(),
            "metric_type": None,
            "warning_text": None,
            "extra": {},
        }


@functools.cache
def glossary_entries() -> dict[str, tuple[str, str, int]]:
    """{column: (metric name, definition, columns in that row)} from the tables of docs/metrics.md.

    A row documents a metric when one of its cells lists backticked `*_num` columns (or other
    measure columns); the metric takes that row's name, Chinese name and definition.
    """
    entries: dict[str, tuple[str, str, int]] = {}
    path = REPO / GLOSSARY
    if not path.is_file():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not line.lstrip().startswith("|") or set(cells[0]) <= {"-", " ", ":"}:
            continue
        name = re.sub(r"[*`]", "", cells[0]).strip()
        zh = cells[1] if re.search("[\u4e00-\u9fff]", cells[1]) else ""
        columns = [c for cell in cells[2:] for c in re.findall(r"`(\w+)`", cell) if not c.startswith("test_")]
        definition = re.sub(r"[*`]", "", cells[2]).strip()
        for column in columns:
            entries.setdefault(column, (f"{name} {zh}".strip(), definition, len(columns)))
    return entries


def ratio(num: str, den: str, scale: str = "") -> str:
    return f"sum({num}){scale} / nullif(sum({den}), 0)"


PCT, SEC, INT, NUM = ".1%", ",.1f", ",d", ",.1f"


@dataclass(frozen=True)
class MetricDef:
    zh: str
    en: str
    d3format: str
    description: str
    anchor: str


# Glossary text: the same definitions as docs/metrics.md, short enough for a tooltip.
GLOSSARY_METRICS: dict[str, MetricDef] = {
    "sl": MetricDef(
        "服务水平",
        "Service level",
        PCT,
        "Answered within T / (offered - short abandons); T per queue (default 20 s).",
        "service-level",
    ),
    "sl_ignore": MetricDef(
        "服务水平(忽略放弃)",
        "SL, abandons ignored",
        PCT,
        "Answered within T / (offered - abandoned within T).",
        "service-level",
    ),
    "sl_negative": MetricDef(
        "服务水平(放弃计负)", "SL, abandons negative", PCT, "Answered within T / offered.", "service-level"
    ),
    "sl_positive": MetricDef(
        "服务水平(放弃计正)",
        "SL, abandons positive",
        PCT,
        "(Answered within T + abandoned within T) / offered.",
        "service-level",
    ),
    "sl_answered": MetricDef(
        "服务水平(仅接通)", "SL, answered only", PCT, "Answered within T / answered.", "service-level"
    ),
    "answer_rate": MetricDef("接通率", "Answer rate", PCT, "Answered / offered.", "answer-rate"),
    "abandon_rate": MetricDef(
        "放弃率",
        "Abandon rate",
        PCT,
        "(Abandoned - short abandons) / (offered - short abandons).",
        "abandon-rate",
    ),
    "asa": MetricDef("平均应答速度(秒)", "ASA (s)", SEC, "Sum of wait of answered stints / answered.", "asa"),
    "aht": MetricDef(
        "平均处理时长(秒)",
        "AHT (s)",
        SEC,
        "Sum of talk + hold + after-contact work / handled agent segments.",
        "aht",
    ),
    "fcr": MetricDef(
        "一次解决率",
        "FCR (repeat-based)",
        PCT,
        "Handled contacts with no repeat from the same caller within W days / handled contacts whose window has closed.",
        "fcr",
    ),
    "fcr_repeat": MetricDef(
        "一次解决率(重复来电)",
        "FCR, repeat-based",
        PCT,
        "No repeat contact within W / contacts whose window closed.",
        "fcr",
    ),
    "fcr_survey": MetricDef(
        "一次解决率(回访)",
        "FCR, survey-based",
        PCT,
        "Surveyed contacts answering resolved = yes / surveyed contacts.",
        "fcr",
    ),
    "fcr_agent": MetricDef(
        "一次解决率(坐席标记)",
        "FCR, agent-flagged",
        PCT,
        "Contacts flagged resolved by the agent / handled.",
        "fcr",
    ),
    "csat": MetricDef(
        "满意度", "CSAT (top-2-box)", PCT, "Responses scoring 4 or 5 of 1-5 / responses.", "csat"
    ),
    "nps": MetricDef("净推荐值", "NPS", NUM, "% promoters (9-10) - % detractors (0-6).", "nps"),
    "complaint_rate": MetricDef(
        "投诉率", "Complaint rate", PCT, "Complaint contacts / handled contacts.", "complaint-rate"
    ),
    "transfer_rate": MetricDef(
        "转接率",
        "Transfer rate",
        PCT,
        "Contacts with more than one agent segment / contacts answered.",
        "transfer-rate",
    ),
    "hold_rate": MetricDef("保持率", "Hold rate", PCT, "Segments with hold > 0 / handled.", "hold-rate"),
    "occupancy": MetricDef(
        "坐席占用率",
        "Occupancy",
        PCT,
        "Handle time / (handle time + available idle time); healthy 70-80%.",
        "occupancy",
    ),
    "utilization": MetricDef(
        "坐席利用率", "Utilization", PCT, "Handle time / logged-in time.", "utilization"
    ),
    "adherence": MetricDef(
        "排班遵从率",
        "Adherence",
        PCT,
        "Minutes in the scheduled state at the scheduled time / scheduled minutes.",
        "adherence",
    ),
    "conformance": MetricDef(
        "排班符合率", "Conformance", PCT, "Worked minutes / scheduled minutes, capped at 100%.", "conformance"
    ),
    "response_rate": MetricDef(
        "回访率", "Survey response rate", PCT, "Survey responses / handled contacts.", "survey-response-rate"
    ),
    "high_stress_share": MetricDef(
        "高压力比例",
        "High-stress share",
        PCT,
        "Respondents with dimension score >= 4 / respondents (suppressed cells excluded).",
        "stress-survey",
    ),
}


def m(name: str, expression: str, key: str | None = None) -> Metric:
    d = GLOSSARY_METRICS[key or name]
    return Metric(name, d.zh, d.en, expression, d.d3format, d.description, d.anchor)


def count(name: str, zh: str, en: str, expression: str, fmt: str = INT, anchor: str = "counts") -> Metric:
    return Metric(name, zh, en, expression, fmt, f"{en}: {expression}.", anchor)


# Contact-grain customer rates (agg_center_daily, and per queue and site agg_contact_outcomes_daily).
CONTACT_RATES = [
    m("complaint_rate", ratio("complaint_num", "complaint_den")),
    m("transfer_rate", ratio("transfer_num", "transfer_den")),
    m("fcr", ratio("fcr_num", "fcr_den")),
    m("csat", ratio("csat_num", "csat_den")),
    m("nps", "(sum(nps_promoters) - sum(nps_detractors)) * 100.0 / nullif(sum(nps_responses), 0)"),
]

# Agent-time rates and handled work: agg_agent_daily and its team x day sums (agg_team_daily).
AGENT_RATES = [
    m("occupancy", ratio("occupancy_num", "occupancy_den")),
    m("utilization", ratio("utilization_num", "utilization_den")),
    m("adherence", ratio("adherence_num", "adherence_den")),
    m("conformance", ratio("conformance_num", "conformance_den")),
    m("aht", "sum(handle_s) / nullif(sum(handled), 0)"),
    count("handled", "处理量", "Handled", "sum(handled)"),
]

QUEUE_RATES = [
    m("sl", ratio("sl_num", "sl_den")),
    m("sl_ignore", ratio("sl_ignore_num", "sl_ignore_den")),
    m("sl_negative", ratio("sl_negative_num", "sl_negative_den")),
    m("sl_positive", ratio("sl_positive_num", "sl_positive_den")),
    m("sl_answered", ratio("sl_answered_num", "sl_answered_den")),
    m("answer_rate", ratio("answer_rate_num", "answer_rate_den")),
    m("abandon_rate", ratio("abandon_rate_num", "abandon_rate_den")),
    m("asa", ratio("asa_num", "asa_den")),
    m("aht", ratio("aht_num", "aht_den")),
    count("offered", "呼入量", "Offered", "sum(offered)"),
    count("answered", "接通量", "Answered", "sum(answered)"),
    count("abandoned", "放弃量", "Abandoned", "sum(abandoned)"),
    count("handled", "处理量", "Handled", "sum(handled)"),
]


# --- datasets --------------------------------------------------------------------------------
@dataclass
class Dataset:
    table: str
    zh: str
    columns: list[tuple[str, str]]  # (name, type); *_date, *_ts, *_local, month, *_at are temporal
    metrics: list[Metric] = field(default_factory=list)
    main_dttm: str | None = None
    # column -> SQL Superset selects instead of the bare column (a calculated column of the same name)
    expressions: dict[str, str] = field(default_factory=dict)

    @property
    def uuid(self) -> str:
        return uid("dataset", self.table)

    def as_yaml(self) -> dict:
        columns = []
        for name, typ in self.columns:
            temporal = typ in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
            columns.append(
                {
                    "column_name": name,
                    "verbose_name": None,
                    "is_dttm": temporal,
                    "is_active": True,
                    "type": typ,
                    "groupby": True,
                    "filterable": True,
                    "expression": self.expressions.get(name),
                    "description": None,
                    "python_date_format": None,
                    "extra": {},
                }
            )
        metrics = []
        for metric in self.metrics:
            metrics.append(metric.as_yaml())
        return {
            "table_name": self.table,
            "schema": SCHEMA,
            "catalog": None,
            "main_dttm_col": self.main_dttm,
            "description": f"{self.zh} · mart marts.{self.table} (docs/marts.md). Metrics: {GLOSSARY}.",
            "default_endpoint": None,
            "offset": 0,
            "cache_timeout": None,
            "sql": None,
            "params": None,
            "template_params": None,
            "filter_select_enabled": True,
            "fetch_values_predicate": None,
            "extra": None,
            "normalize_columns": False,
            "always_filter_main_dttm": False,
            "uuid": self.uuid,
            "metrics": metrics,
            "columns": columns,
            "version": "1.0.0",
            "database_uuid": DATABASE_UUID,
        }


VARCHAR, BIGINT, DATE, TIMESTAMP, BOOLEAN, DOUBLE = (
    "VARCHAR",
    "BIGINT",
    "DATE",
    "TIMESTAMP",
    "BOOLEAN",
    "DOUBLE",
)
RATE_COLS = [
    f"{p}_{s}"
    for p in (
        "sl",
        "sl_ignore",
        "sl_negative",
        "sl_positive",
        "sl_answered",
        "answer_rate",
        "abandon_rate",
        "asa",
        "aht",
    )
    for s in ("num", "den")
]
QUEUE_MEASURES = [
    (c, BIGINT)
    for c in (
        "offered answered abandoned short_abandoned timeout exit_key overflow error answered_within_t "
        "abandoned_within_t wait_answered_s wait_abandoned_s handled handle_s talk_s hold_s acw_s"
    ).split()
] + [(c, DOUBLE) for c in RATE_COLS]

DATASETS = {
    d.table: d
    for d in [
        Dataset(
            "agg_queue_interval",
            "队列 × 30分钟时段 Queue × interval",
            [
                ("queue_code", VARCHAR),
                ("site_code", VARCHAR),
                ("report_date", DATE),
                ("interval_start_local", TIMESTAMP),
                ("weekday", VARCHAR),
                ("time_of_day", VARCHAR),
            ]
            + QUEUE_MEASURES,
            QUEUE_RATES,
            "interval_start_local",
        ),
        Dataset(
            "agg_queue_daily",
            "队列 × 日 Queue × day",
            [
                ("queue_code", VARCHAR),
                ("site_code", VARCHAR),
                ("report_date", DATE),
                ("sl_target", DOUBLE),
                ("sl_threshold_s", BIGINT),
            ]
            + QUEUE_MEASURES,
            QUEUE_RATES,
            "report_date",
        ),
        Dataset(
            "agg_center_daily",
            "全中心 × 日 Center × day",
            [("report_date", DATE)]
            + QUEUE_MEASURES
            + [
                (f"{p}_{s}", DOUBLE)
                for p in ("complaint", "transfer", "hold_rate", "fcr", "csat")
                for s in ("num", "den")
            ]
            + [("nps_promoters", BIGINT), ("nps_detractors", BIGINT), ("nps_responses", BIGINT)],
            QUEUE_RATES + [m("hold_rate", ratio("hold_rate_num", "hold_rate_den"))] + CONTACT_RATES,
            "report_date",
        ),
        Dataset(
            "agg_contact_outcomes_daily",
            "联系 × 队列 × 站点 × 日 Contacts by queue, site and day",
            [("report_date", DATE), ("queue_code", VARCHAR), ("site_code", VARCHAR)]
            + [
                (c, BIGINT)
                for c in (
                    "contacts handled_contacts complaint_num complaint_den transfer_num transfer_den fcr_num "
                    "fcr_den fcr_pending csat_num csat_den nps_promoters nps_detractors nps_responses"
                ).split()
            ],
            CONTACT_RATES,
            "report_date",
        ),
        Dataset(
            "agg_fcr_daily",
            "一次解决率 × 队列 × 日 FCR by queue and day",
            [("queue_code", VARCHAR), ("report_date", DATE)]
            + [
                (c, DOUBLE)
                for c in (
                    "fcr_repeat_num",
                    "fcr_repeat_den",
                    "fcr_survey_num",
                    "fcr_survey_den",
                    "fcr_agent_num",
                    "fcr_agent_den",
                )
            ]
            + [("pending", BIGINT)],
            [
                m("fcr_repeat", ratio("fcr_repeat_num", "fcr_repeat_den")),
                m("fcr_survey", ratio("fcr_survey_num", "fcr_survey_den")),
                m("fcr_agent", ratio("fcr_agent_num", "fcr_agent_den")),
                count("fcr_n", "样本量", "n (window closed)", "sum(fcr_repeat_den)"),
            ],
            "report_date",
        ),
        Dataset(
            "agg_csat_daily",
            "客户满意度 × 队列 × 日 CSAT by queue and day",
            [("queue_code", VARCHAR), ("report_date", DATE)]
            + [
                (c, BIGINT)
                for c in "responses csat_top2 csat_sum csat_n nps_promoters nps_passives nps_detractors nps_n handled".split()
            ]
            + [
                ("response_rate_num", DOUBLE),
                ("response_rate_den", DOUBLE),
                ("csat_wilson_low", DOUBLE),
                ("csat_wilson_high", DOUBLE),
                ("low_n", BOOLEAN),
            ],
            [
                m("csat", ratio("csat_top2", "csat_n")),
                count(
                    "csat_mean",
                    "平均满意度分",
                    "Mean CSAT score (1-5)",
                    "sum(csat_sum) / nullif(sum(csat_n), 0)",
                    NUM,
                    "csat",
                ),
                m("nps", "(sum(nps_promoters) - sum(nps_detractors)) * 100.0 / nullif(sum(nps_n), 0)"),
                m("response_rate", ratio("response_rate_num", "response_rate_den")),
                count("csat_responses", "满意度样本量", "CSAT n", "sum(csat_n)"),
                count("nps_responses", "NPS样本量", "NPS n", "sum(nps_n)"),
            ],
            "report_date",
        ),
        Dataset(
            "fct_agent_segments",
            "坐席通话段 Agent segments",
            [
                ("contact_id", VARCHAR),
                ("segment_seq", BIGINT),
                ("agent_id", VARCHAR),
                ("queue_code", VARCHAR),
                ("site_code", VARCHAR),
                ("report_date", DATE),
                ("disposition", VARCHAR),
            ]
            + [("complaint", BOOLEAN), ("handle_s", DOUBLE)],
            [
                count("segments", "通话段", "Agent segments", "count(*)"),
                count(
                    "complaints",
                    "投诉量",
                    "Complaint contacts",
                    "count(distinct contact_id) filter (where complaint)",
                    anchor="complaint-rate",
                ),
            ],
            "report_date",
        ),
        Dataset(
            "agg_complaints_daily",
            "投诉 × 原因 × 队列 × 站点 × 日 Complaints by reason, queue, site and day",
            [
                ("report_date", DATE),
                ("queue_code", VARCHAR),
                ("site_code", VARCHAR),
                ("disposition", VARCHAR),
                ("complaint_contacts", BIGINT),
            ],
            [
                count(
                    "complaints",
                    "投诉量",
                    "Complaint contacts",
                    "sum(complaint_contacts)",
                    anchor="complaint-rate",
                )
            ],
            "report_date",
        ),
        Dataset(
            "fct_queue_stints",
            "排队明细(假名化) Queue stints, pseudonymised",
            [
                ("contact_id", VARCHAR),
                ("segment_seq", BIGINT),
                ("queue_code", VARCHAR),
                ("site_code", VARCHAR),
                ("report_date", DATE),
                ("interval_start_local", TIMESTAMP),
            ]
            + [
                ("outcome", VARCHAR),
                ("is_short_abandon", BOOLEAN),
                ("wait_s", DOUBLE),
                ("answered_within_t", BOOLEAN),
                ("abandoned_within_t", BOOLEAN),
                ("caller_key", VARCHAR),
            ],
            [count("stints", "排队次数", "Queue stints", "count(*)")],
            "interval_start_local",
        ),
        Dataset(
            "fct_abandoned_stints",
            "放弃明细(假名化) Abandoned stints, pseudonymised",
            [
                ("contact_id", VARCHAR),
                ("segment_seq", BIGINT),
                ("queue_code", VARCHAR),
                ("site_code", VARCHAR),
                ("report_date", DATE),
                ("interval_start_local", TIMESTAMP),
                ("wait_s", DOUBLE),
                ("is_short_abandon", BOOLEAN),
                ("caller_key", VARCHAR),
            ],
            [count("abandoned_stints", "放弃次数", "Abandoned stints", "count(*)")],
            "interval_start_local",
        ),
        Dataset(
            "agg_staffing_interval",
            "人力需求 × 时段 Staffing by interval",
            [
                ("queue_code", VARCHAR),
                ("site_code", VARCHAR),
                ("report_date", DATE),
                ("interval_start_local", TIMESTAMP),
                ("weekday", BIGINT),
                ("time_of_day", VARCHAR),
            ]
            + [
                (c, DOUBLE)
                for c in "offered aht_s traffic_erlangs required_agents_c required_agents_a shrinkage required_scheduled scheduled_agents logged_in_agents".split()
            ],
            [
                # Agents are a level, not a count: per interval of the day, the day's total over
                # queues averaged over the days shown (sum / number of distinct intervals).
                count(
                    f"{name}_per_day",
                    zh,
                    f"{en}, average day",
                    f"sum({column}) / nullif(count(distinct interval_start_local), 0)",
                    NUM,
                    "staffing",
                )
                for name, column, zh, en in (
                    (
                        "required_agents",
                        "required_agents_c",
                        "需求坐席(Erlang C, 日均)",
                        "Required agents (Erlang C)",
                    ),
                    ("required_scheduled", "required_scheduled", "需求排班人数(日均)", "Required scheduled"),
                    ("scheduled_agents", "scheduled_agents", "排班人数(日均)", "Scheduled agents"),
                    ("logged_in_agents", "logged_in_agents", "在线坐席(日均)", "Logged-in agents"),
                )
            ],
            "interval_start_local",
        ),
        Dataset(
            "agg_agent_daily",
            "坐席 × 日 Agent × day",
            [
                ("agent_id", VARCHAR),
                ("agent_name", VARCHAR),
                ("team", VARCHAR),
                ("supervisor", VARCHAR),
                ("site_code", VARCHAR),
                ("report_date", DATE),
            ]
            + [
                (c, DOUBLE)
                for c in "handled talk_s hold_s acw_s handle_s logged_in_s available_s not_ready_s scheduled_s".split()
            ]
            + [
                (f"{p}_{s}", DOUBLE)
                for p in ("occupancy", "utilization", "adherence", "conformance")
                for s in ("num", "den")
            ]
            + [(c, BIGINT) for c in "late_login early_logout absent long_not_ready_count complaints".split()],
            AGENT_RATES
            + [
                count(
                    "late_logins",
                    "迟到次数",
                    "Late logins",
                    "sum(cast(late_login as integer))",
                    anchor="late-login--early-logout",
                ),
                count(
                    "early_logouts",
                    "早退次数",
                    "Early logouts",
                    "sum(cast(early_logout as integer))",
                    anchor="late-login--early-logout",
                ),
                count(
                    "absences",
                    "缺勤天数",
                    "Absences",
                    "sum(cast(absent as integer))",
                    anchor="late-login--early-logout",
                ),
                count(
                    "long_not_ready",
                    "长时间示忙次数",
                    "Long not-ready episodes",
                    "sum(long_not_ready_count)",
                    anchor="long-not-ready",
                ),
            ],
            "report_date",
        ),
        # The agent-performance dashboard reads these two, not the agent x day rows (~290k at 10M
        # contacts, too many to aggregate on every fresh connection): team-level charts the team x
        # site x day sums, per-agent charts the agent x month sums (they follow the date filter by
        # whole months, like the monthly scorecard). Same sums, so the same numbers.
        Dataset(
            "agg_team_daily",
            "班组 × 日 Team × day",
            [("report_date", DATE), ("team", VARCHAR), ("site_code", VARCHAR)]
            + [
                (c, DOUBLE)
                for c in "handled talk_s handle_s scheduled_s".split()
                + [
                    f"{p}_{s}"
                    for p in ("occupancy", "utilization", "adherence", "conformance")
                    for s in ("num", "den")
                ]
            ]
            + [
                (c, BIGINT)
                for c in "agent_days late_logins early_logouts absences long_not_ready_count".split()
            ],
            AGENT_RATES,
            "report_date",
        ),
        Dataset(
            "agg_agent_monthly",
            "坐席 × 月 Agent × month",
            [
                ("month", DATE),
                ("agent_id", VARCHAR),
                ("agent_name", VARCHAR),
                ("team", VARCHAR),
                ("site_code", VARCHAR),
            ]
            + [(c, DOUBLE) for c in "handled talk_s handle_s".split()]
            + [(c, BIGINT) for c in "days late_logins early_logouts absences long_not_ready_count".split()],
            [
                m("aht", "sum(handle_s) / nullif(sum(handled), 0)"),
                count("handled", "处理量", "Handled", "sum(handled)"),
                count(
                    "late_logins",
                    "迟到次数",
                    "Late logins",
                    "cast(sum(late_logins) as bigint)",
                    anchor="late-login--early-logout",
                ),
                count(
                    "early_logouts",
                    "早退次数",
                    "Early logouts",
                    "cast(sum(early_logouts) as bigint)",
                    anchor="late-login--early-logout",
                ),
                count(
                    "absences",
                    "缺勤天数",
                    "Absences",
                    "cast(sum(absences) as bigint)",
                    anchor="late-login--early-logout",
                ),
                count(
                    "long_not_ready",
                    "长时间示忙次数",
                    "Long not-ready episodes",
                    "cast(sum(long_not_ready_count) as bigint)",
                    anchor="long-not-ready",
                ),
            ],
            "month",
        ),
        Dataset(
            "agg_agent_monthly_scorecard",
            "坐席月度绩效 Agent monthly scorecard",
            [("month", DATE), ("agent_id", VARCHAR), ("agent_name", VARCHAR), ("team", VARCHAR)]
            + [
                (c, DOUBLE)
                for c in "handled avg_talk_s center_avg_talk_s aht_s center_aht_s talk_score aht_score volume_score complaint_points csat_num csat_den fcr_num fcr_den total_score".split()
            ],
            [count("agents", "坐席人数", "Agents", "count(distinct agent_id)", anchor="agent-scorecard")],
            "month",
            # sum()s of integers are HUGEINT in the mart: fetching 1,000 rows of them into Python
            # (DuckDB's HUGEINT -> int) cost ~15 ms of the table's query, bigint ~2 ms
            expressions={c: f"cast({c} as bigint)" for c in ("handled", "complaint_points", "total_score")},
        ),
        Dataset(
            "agg_schedule_compliance",
            "排班规则 Schedule rules by agent and month",
            [("month", DATE), ("agent_id", VARCHAR)]
            + [
                (c, BIGINT)
                for c in "consecutive_work_days_max rest_days small_night_shifts big_night_shifts violations".split()
            ]
            + [("monthly_hours", DOUBLE)],
            [count("violations", "违规次数", "Rule violations", "sum(violations)", anchor="workforce")],
            "month",
        ),
        Dataset(
            "agg_stress_wave",
            "调查回收 Survey response by wave",
            [
                ("wave", VARCHAR),
                ("grouping", VARCHAR),
                ("group_value", VARCHAR),
                ("distributed", BIGINT),
                ("returned", BIGINT),
            ]
            + [
                (c, BIGINT)
                for c in (
                    "response_rate_num",
                    "response_rate_den",
                    "completion_num",
                    "completion_den",
                    "straightlined",
                    "comments",
                )
            ]
            + [("suppressed", BOOLEAN), ("comments_suppressed", BOOLEAN)],
            [
                count(
                    "returned_n",
                    "回收问卷",
                    "Questionnaires returned",
                    "sum(returned)",
                    anchor="stress-survey",
                ),
                count(
                    "survey_response_rate",
                    "回收率",
                    "Survey response rate",
                    ratio("response_rate_num", "response_rate_den"),
                    PCT,
                    "stress-survey",
                ),
            ],
            None,
        ),
        Dataset(
            "agg_stress_dimension",
            "压力维度 × 分组 Stress dimension by group",
            [
                ("wave", VARCHAR),
                ("instrument", VARCHAR),
                ("grouping", VARCHAR),
                ("group_value", VARCHAR),
                ("dimension_code", VARCHAR),
                ("dimension_zh", VARCHAR),
                ("dimension_en", VARCHAR),
            ]
            + [
                ("dimension_order", BIGINT),
                ("n", BIGINT),
                ("n_label", VARCHAR),
                ("mean_score", DOUBLE),
                ("sd_score", DOUBLE),
                ("ci_low", DOUBLE),
                ("ci_high", DOUBLE),
            ]
            + [
                ("high_stress_num", BIGINT),
                ("high_stress_den", BIGINT),
                ("high_stress_wilson_low", DOUBLE),
                ("high_stress_wilson_high", DOUBLE),
            ]
            + [
                ("midpoint", DOUBLE),
                ("t_vs_midpoint", DOUBLE),
                ("t_df", DOUBLE),
                ("p_vs_midpoint", DOUBLE),
                ("stressor_type", VARCHAR),
                ("small_n", BOOLEAN),
                ("suppressed", BOOLEAN),
            ],
            [m("high_stress_share", ratio("high_stress_num", "high_stress_den"))],
            None,
        ),
        Dataset(
            "agg_stress_reliability",
            "量表信度 Scale reliability",
            [
                ("wave", VARCHAR),
                ("instrument", VARCHAR),
                ("scope", VARCHAR),
                ("dimension_code", VARCHAR),
                ("dimension_zh", VARCHAR),
                ("dimension_en", VARCHAR),
                ("row_type", VARCHAR),
            ]
            + [
                ("item_code", VARCHAR),
                ("n_respondents", BIGINT),
                ("n_items", BIGINT),
                ("alpha", DOUBLE),
                ("alpha_if_item_deleted", DOUBLE),
                ("item_rest_r", DOUBLE),
            ]
            + [
                ("kmo", DOUBLE),
                ("bartlett_chi2", DOUBLE),
                ("bartlett_df", BIGINT),
                ("bartlett_p", DOUBLE),
                ("suppressed", BOOLEAN),
            ],
            [],
            None,
        ),
        Dataset(
            "agg_stress_group_tests",
            "分组差异检验 Group difference tests",
            [
                ("wave", VARCHAR),
                ("instrument", VARCHAR),
                ("dimension_code", VARCHAR),
                ("dimension_zh", VARCHAR),
                ("dimension_en", VARCHAR),
                ("grouping", VARCHAR),
            ]
            + [
                ("n_groups", BIGINT),
                ("groups_tested", VARCHAR),
                ("n_total", BIGINT),
                ("test", VARCHAR),
                ("statistic", DOUBLE),
                ("df1", DOUBLE),
                ("df2", DOUBLE),
            ]
            + [
                ("p_value", DOUBLE),
                ("significant", BOOLEAN),
                ("effect_size_name", VARCHAR),
                ("effect_size", DOUBLE),
                ("cohens_d", DOUBLE),
            ]
            + [
                ("highest_group", VARCHAR),
                ("highest_mean", DOUBLE),
                ("lowest_group", VARCHAR),
                ("lowest_mean", DOUBLE),
            ],
            [],
            None,
        ),
        Dataset(
            "agg_stress_workload",
            "压力与工作负荷 Stress vs workload by team",
            [
                ("wave", VARCHAR),
                ("instrument", VARCHAR),
                ("team", VARCHAR),
                ("dimension_code", VARCHAR),
                ("dimension_zh", VARCHAR),
                ("dimension_en", VARCHAR),
            ]
            + [
                ("n", BIGINT),
                ("n_label", VARCHAR),
                ("mean_score", DOUBLE),
                ("high_stress_num", BIGINT),
                ("high_stress_den", BIGINT),
                ("suppressed", BOOLEAN),
            ]
            + [
                ("agents", BIGINT),
                ("occupancy", DOUBLE),
                ("contacts_per_logged_in_hour", DOUBLE),
                ("night_shifts_per_agent_month", DOUBLE),
            ]
            + [("consecutive_work_days_max_avg", DOUBLE), ("has_workload", BOOLEAN)],
            [],
            None,
        ),
        Dataset(
            "dq_results",
            "数据质量检查结果 Check results",
            [
                ("run_id", VARCHAR),
                ("checked_at", TIMESTAMP),
                ("suite", VARCHAR),
                ("table_name", VARCHAR),
                ("check_name", VARCHAR),
                ("severity", VARCHAR),
                ("success", BOOLEAN),
            ]
            + [("observed_value", VARCHAR), ("unexpected_count", BIGINT), ("details", VARCHAR)],
            [
                count("checks", "检查数", "Checks", "count(*)", anchor="data-quality"),
                count(
                    "failed_checks",
                    "失败检查数",
                    "Failed checks",
                    "count(*) filter (where not success)",
                    anchor="data-quality",
                ),
            ],
            "checked_at",
        ),
        Dataset(
            "dq_quarantine_summary",
            "隔离记录 Quarantined rows",
            [("source", VARCHAR), ("reason", VARCHAR), ("quarantined_date", DATE), ("rows", BIGINT)],
            [count("quarantined_rows", "隔离行数", "Quarantined rows", "sum(rows)", anchor="data-quality")],
            "quarantined_date",
        ),
        Dataset(
            "dq_source_freshness",
            "数据新鲜度 Source freshness",
            [
                ("source", VARCHAR),
                ("last_loaded_at", TIMESTAMP),
                ("last_event_ts", TIMESTAMP),
                ("files", BIGINT),
                ("rows_loaded", BIGINT),
            ],
            [],
            None,
        ),
    ]
}


# --- charts ----------------------------------------------------------------------------------
@dataclass
class Chart:
    key: str  # unique across the bundle; also the file name
    title: str  # "中文 English"
    viz: str
    dataset: str
    params: dict
    width: int = 4
    height: int = 50

    @property
    def uuid(self) -> str:
        return uid("chart", self.key)

    def as_yaml(self) -> dict:
        ds = DATASETS[self.dataset]
        params = {"viz_type": self.viz, "datasource": "1__table", "adhoc_filters": [], "extra_form_data": {}}
        wants_time_filter = self.params.pop("_time_filter", True)
        if ds.main_dttm and wants_time_filter:
            params["adhoc_filters"] = [time_filter(ds.main_dttm)]
        params.update(self.params)
        return {
            "slice_name": self.title,
            "description": None,
            "certified_by": None,
            "certification_details": None,
            "viz_type": self.viz,
            "params": params,
            "query_context": None,
            "cache_timeout": None,
            "uuid": self.uuid,
            "version": "1.0.0",
            "dataset_uuid": ds.uuid,
        }


def time_filter(column: str) -> dict:
    return {
        "clause": "WHERE",
        "subject": column,
        "operator": "TEMPORAL_RANGE",
        "comparator": "No filter",
        "expressionType": "SIMPLE",
    }


def target_line(name: str, value: float) -> dict:
    return {
        "name": name,
        "annotationType": "FORMULA",
        "sourceType": "",
        "value": str(value),
        "show": True,
        "showLabel": True,
        "hideLine": False,
        "style": "dashed",
        "width": 2,
        "opacity": "",
        "color": "#E04355",
        "overrides": {},
        "titleColumn": "",
        "descriptionColumns": [],
        "timeColumn": "",
        "intervalEndColumn": "",
        "showMarkers": False,
    }


def big_number_trend(key, title, dataset, metric, fmt, x="report_date", width=3) -> Chart:
    return Chart(
        key,
        title,
        "big_number",
        dataset,
        {
            "metric": metric,
            "x_axis": x,
            "time_grain_sqla": "P1D",
            "show_trend_line": True,
            "start_y_axis_at_zero": False,
            "y_axis_format": fmt,
            "header_font_size": 0.4,
            "subheader_font_size": 0.15,
            "time_format": "%Y-%m-%d",
            "compare_lag": 7,
            "compare_suffix": "vs 7 days ago 7日前",
            "rolling_type": "None",
        },
        width,
        40,
    )


def big_number_total(key, title, dataset, metric, fmt, width=3, filters=None) -> Chart:
    params = {"metric": metric, "y_axis_format": fmt, "header_font_size": 0.4, "subheader_font_size": 0.15}
    if filters:
        params["_extra_filters"] = filters
    return Chart(key, title, "big_number_total", dataset, params, width, 30)


def line(
    key,
    title,
    dataset,
    metrics,
    x="report_date",
    grain="P1D",
    groupby=None,
    targets=(),
    fmt=PCT,
    width=6,
    kind="echarts_timeseries_line",
) -> Chart:
    return Chart(
        key,
        title,
        kind,
        dataset,
        {
            "x_axis": x,
            "time_grain_sqla": grain,
            "metrics": list(metrics),
            "groupby": list(groupby or []),
            "annotation_layers": [target_line(n, v) for n, v in targets],
            "y_axis_format": fmt,
            "row_limit": 10000,
            "show_legend": True,
            "legendType": "scroll",
            "legendOrientation": "top",
            "rich_tooltip": True,
            "x_axis_time_format": "smart_date",
            "truncateYAxis": False,
            "y_axis_bounds": [None, None],
            "order_desc": True,
            "comparison_type": "values",
            "only_total": True,
            "stack": "Stack" if kind.endswith("bar") else None,
        },
        width,
        50,
    )


def intraday(key, title, dataset, metrics, fmt, width=12, kind="echarts_timeseries_line") -> Chart:
    """Metrics by interval of the day (48 half-hours, in clock order) over the dates filtered.

    One point per interval of the whole history would be 17,520 points a year: too many to read,
    and the query would ship them all to the browser.
    """
    return Chart(
        key,
        title,
        kind,
        dataset,
        {
            "x_axis": "time_of_day",
            "x_axis_sort": "time_of_day",
            "x_axis_sort_asc": True,
            "metrics": list(metrics),
            "groupby": [],
            "annotation_layers": [],
            "y_axis_format": fmt,
            "row_limit": 1000,
            "show_legend": True,
            "legendType": "scroll",
            "legendOrientation": "top",
            "rich_tooltip": True,
            "truncateYAxis": False,
            "y_axis_bounds": [None, None],
            "order_desc": True,
            "only_total": True,
            "stack": None,
        },
        width,
        50,
    )


def by_category(key, title, dataset, x, metric, targets=(), fmt=PCT, width=6) -> Chart:
    """One bar per value of a non-temporal column over the dates filtered, largest first."""
    return Chart(
        key,
        title,
        "echarts_timeseries_bar",
        dataset,
        {
            "x_axis": x,
            "x_axis_sort": metric,
            "x_axis_sort_asc": False,
            "metrics": [metric],
            "groupby": [],
            "annotation_layers": [target_line(n, v) for n, v in targets],
            "y_axis_format": fmt,
            "row_limit": 1000,
            "show_legend": False,
            "rich_tooltip": True,
            "truncateYAxis": False,
            "y_axis_bounds": [None, None],
            "order_desc": True,
            "only_total": True,
            "stack": None,
        },
        width,
        50,
    )


TABLE_PAGE_ROWS = 20


def table(
    key,
    title,
    dataset,
    *,
    groupby=None,
    metrics=None,
    columns=None,
    order_by=None,
    having=None,
    where=None,
    row_limit=1000,
    width=6,
    height=50,
    time_filter_=True,
) -> Chart:
    params: dict = {
        "row_limit": row_limit,
        "server_pagination": False,
        # One page of rows at a time (Superset's client-side pagination): drawing every row of a
        # few-hundred-row table cost ~1.3 s of the browser's main thread per open (docs/dashboards.md,
        # "Render time"); every row stays one click away.
        "page_length": TABLE_PAGE_ROWS,
        "table_timestamp_format": "%Y-%m-%d %H:%M",
        "include_search": False,
        "show_cell_bars": False,
        "color_pn": False,
        "allow_rearrange_columns": False,
        "_time_filter": time_filter_,
    }
    if columns:  # raw records
        params.update(
            {
                "query_mode": "raw",
                "all_columns": columns,
                "order_by_cols": [f'["{c}", {str(asc).lower()}]' for c, asc in (order_by or [])],
            }
        )
    else:
        params.update(
            {
                "query_mode": "aggregate",
                "groupby": groupby or [],
                "metrics": metrics or [],
                "percent_metrics": [],
                "timeseries_limit_metric": None,
                "order_desc": True,
                "all_columns": [],
            }
        )
        if order_by:
            params["timeseries_limit_metric"] = order_by[0][0]
            params["order_desc"] = not order_by[0][1]
    params["_filters"] = [("HAVING", having)] if having else []
    if where:
        params["_filters"].append(("WHERE", where))
    return Chart(key, title, "table", dataset, params, width, height)


def finish(chart: Chart) -> Chart:
    """Turn the private helpers' hints into Superset adhoc filters."""
    extra = [
        {
            "clause": clause,
            "expressionType": "SQL",
            "sqlExpression": sql,
            "subject": None,
            "operator": None,
            "comparator": None,
        }
        for clause, sql in chart.params.pop("_filters", [])
    ] + [
        {
            "clause": "WHERE",
            "expressionType": "SQL",
            "sqlExpression": sql,
            "subject": None,
            "operator": None,
            "comparator": None,
        }
        for sql in chart.params.pop("_extra_filters", [])
    ]
    if extra:
        chart.params["_adhoc_extra"] = extra
    return chart


def build_charts(t: dict[str, float]) -> dict[str, list[list[Chart]]]:
    """Dashboards as rows of charts (each row's widths sum to <= 12)."""
    sl_t, ans_t, ab_t, asa_t = t["sl"], t["answer_rate"], t["abandon_rate"], t["asa"]
    pct = lambda v: f"{v:.0%}"  # noqa: E731
    exec_kpis = [
        ("exec_sl", f"服务水平 Service level (目标 target ≥ {pct(sl_t)})", "agg_queue_daily", "sl", PCT),
        (
            "exec_answer_rate",
            f"接通率 Answer rate (目标 target ≥ {pct(ans_t)})",
            "agg_queue_daily",
            "answer_rate",
            PCT,
        ),
        ("exec_asa", f"平均应答速度 ASA, s (目标 target ≤ {asa_t:g})", "agg_queue_daily", "asa", SEC),
        (
            "exec_abandon_rate",
            f"放弃率 Abandon rate (目标 target ≤ {pct(ab_t)})",
            "agg_queue_daily",
            "abandon_rate",
            PCT,
        ),
        ("exec_aht", "平均处理时长 AHT, s", "agg_queue_daily", "aht", SEC),
        ("exec_fcr", "一次解决率 FCR", "agg_contact_outcomes_daily", "fcr", PCT),
        ("exec_csat", "满意度 CSAT (top-2-box)", "agg_contact_outcomes_daily", "csat", PCT),
        ("exec_nps", "净推荐值 NPS", "agg_contact_outcomes_daily", "nps", NUM),
        ("exec_complaint_rate", "投诉率 Complaint rate", "agg_contact_outcomes_daily", "complaint_rate", PCT),
    ]
    kpi = [big_number_trend(k, ti, ds, me, f) for k, ti, ds, me, f in exec_kpis]
    executive = [
        kpi[0:4],
        kpi[4:8],
        [
            kpi[8],
            big_number_total(
                "exec_offered_total",
                "呼入量(全期) Offered, whole period",
                "agg_queue_daily",
                "offered",
                INT,
                3,
            ),
            big_number_total(
                "exec_handled_total",
                "处理量(全期) Handled, whole period",
                "agg_queue_daily",
                "handled",
                INT,
                3,
            ),
            big_number_total(
                "exec_sl_total",
                "服务水平(全期) Service level, whole period",
                "agg_queue_daily",
                "sl",
                PCT,
                3,
            ),
        ],
        [
            line(
                "exec_sl_trend",
                "服务水平趋势 Service level trend",
                "agg_queue_daily",
                ["sl"],
                targets=[("目标 Target", sl_t)],
            ),
            line(
                "exec_answer_trend",
                "接通率与放弃率 Answer and abandon rate",
                "agg_queue_daily",
                ["answer_rate", "abandon_rate"],
                targets=[("接通率目标 Answer target", ans_t), ("放弃率目标 Abandon target", ab_t)],
            ),
        ],
        [
            line(
                "exec_asa_trend",
                "平均应答速度趋势 ASA trend (s)",
                "agg_queue_daily",
                ["asa"],
                targets=[("目标 Target", asa_t)],
                fmt=SEC,
            ),
            line(
                "exec_cx_trend",
                "一次解决率与满意度 FCR and CSAT",
                "agg_contact_outcomes_daily",
                ["fcr", "csat"],
            ),
        ],
    ]
    service = [
        [
            big_number_total("sl_offered_total", "呼入量 Offered", "agg_queue_interval", "offered", INT, 3),
            big_number_total("sl_sl_total", "服务水平 Service level", "agg_queue_interval", "sl", PCT, 3),
            big_number_total(
                "sl_answer_total", "接通率 Answer rate", "agg_queue_interval", "answer_rate", PCT, 3
            ),
            big_number_total("sl_asa_total", "平均应答速度 ASA (s)", "agg_queue_interval", "asa", SEC, 3),
        ],
        [
            Chart(
                "sl_heatmap",
                "服务水平热力图 SL by weekday × time of day",
                "heatmap_v2",
                "agg_queue_interval",
                {
                    "x_axis": "time_of_day",
                    "groupby": "weekday",
                    "metric": "sl",
                    "linear_color_scheme": "schemeRdYlGn",
                    "normalize_across": "heatmap",
                    "normalized": False,
                    "show_legend": True,
                    "show_values": False,
                    "sort_x_axis": "alpha_asc",
                    "sort_y_axis": "alpha_asc",
                    "y_axis_format": PCT,
                    "value_bounds": [0, 1],
                    "row_limit": 10000,
                    "xscale_interval": -1,
                    "yscale_interval": -1,
                    "left_margin": "auto",
                    "bottom_margin": "auto",
                },
                12,
                60,
            )
        ],
        [
            intraday(
                "sl_volume",
                "呼入、接通、放弃(按时段, 所选日期合计) Offered, answered, abandoned by interval of the day, "
                "selected dates",
                "agg_queue_interval",
                ["offered", "answered", "abandoned"],
                fmt=",d",
                width=12,
                kind="echarts_timeseries_bar",
            )
        ],
        [
            table(
                "sl_variants",
                "服务水平口径对比 SL variants side by side",
                "agg_queue_daily",
                groupby=["queue_code"],
                metrics=["sl", "sl_ignore", "sl_negative", "sl_positive", "sl_answered", "offered"],
                width=6,
            ),
            intraday(
                "sl_staffing",
                "需求、排班与在线坐席(按时段, 日均) Required vs scheduled vs logged-in agents by interval, average day",
                "agg_staffing_interval",
                ["required_scheduled_per_day", "scheduled_agents_per_day", "logged_in_agents_per_day"],
                fmt=",.1f",
                width=6,
            ),
        ],
        [
            table(
                "sl_missed_intervals",
                f"未达标时段(点击下钻) Missed intervals, SL < {pct(sl_t)} (click to drill down)",
                "agg_queue_interval",
                groupby=["interval_start_local", "queue_code"],
                metrics=["sl", "offered", "abandoned"],
                having=f"sum(sl_num) / nullif(sum(sl_den), 0) < {sl_t}",
                # The mart's grain is queue x interval, so each group is one row: the same test per
                # row drops the met intervals before grouping (same result, a fraction of the work).
                where=f"sl_num < {sl_t} * sl_den",
                order_by=[("abandoned", False)],
                row_limit=50,
                width=6,
                height=60,
            ),
            table(
                "sl_abandoned_contacts",
                "放弃明细(假名化) Abandoned contacts, pseudonymised caller",
                "fct_abandoned_stints",
                columns=[
                    "interval_start_local",
                    "queue_code",
                    "contact_id",
                    "caller_key",
                    "wait_s",
                    "is_short_abandon",
                ],
                order_by=[("interval_start_local", False)],
                row_limit=100,
                width=6,
                height=60,
            ),
        ],
    ]
    agents = [
        [
            big_number_total("agent_handled_total", "处理量 Handled", "agg_team_daily", "handled", INT, 3),
            big_number_total("agent_aht_total", "平均处理时长 AHT (s)", "agg_team_daily", "aht", SEC, 3),
            big_number_total(
                "agent_occupancy_total", "坐席占用率 Occupancy", "agg_team_daily", "occupancy", PCT, 3
            ),
            big_number_total(
                "agent_adherence_total", "排班遵从率 Adherence", "agg_team_daily", "adherence", PCT, 3
            ),
        ],
        [
            table(
                "agent_scorecard",
                "坐席月度计分卡 Monthly scorecard",
                "agg_agent_monthly_scorecard",
                columns=[
                    "month",
                    "agent_name",
                    "team",
                    "handled",
                    "avg_talk_s",
                    "aht_s",
                    "talk_score",
                    "aht_score",
                    "volume_score",
                    "complaint_points",
                    "total_score",
                ],
                order_by=[("total_score", False)],
                width=12,
                height=60,
            )
        ],
        [
            Chart(
                "agent_aht_distribution",
                "平均处理时长分布(按组, 每坐席一点) AHT distribution by team, one point per agent",
                "box_plot",
                "agg_agent_monthly",
                {
                    "columns": ["agent_name"],
                    "groupby": ["team"],
                    "metrics": ["aht"],
                    "whiskerOptions": "Tukey",
                    "number_format": SEC,
                    "row_limit": 10000,
                    "date_format": "smart_date",
                    "x_ticks_layout": "auto",
                },
                6,
                50,
            ),
            line(
                "agent_adherence",
                "排班遵从率与符合率 Adherence and conformance",
                "agg_team_daily",
                ["adherence", "conformance"],
                width=6,
            ),
        ],
        [
            # One line per team per day would be ~70 lines x 365 days at 10M contacts (past the
            # 10,000-row limit: the chart stopped after ~140 days). The trend is the center's (the
            # team filter narrows it to teams); the teams are compared side by side next to it.
            line(
                "agent_occupancy",
                "坐席占用率趋势(健康区间 70–80%) Occupancy trend, healthy 70-80%",
                "agg_team_daily",
                ["occupancy"],
                targets=[("70%", 0.7), ("80%", 0.8)],
                width=6,
            ),
            by_category(
                "agent_occupancy_by_team",
                "各组占用率(所选日期, 健康区间 70–80%) Occupancy by team, selected dates, healthy 70-80%",
                "agg_team_daily",
                "team",
                "occupancy",
                targets=[("70%", 0.7), ("80%", 0.8)],
                fmt=PCT,
                width=6,
            ),
        ],
        [
            table(
                "agent_attendance",
                "考勤异常(按月汇总) Attendance exceptions, whole months",
                "agg_agent_monthly",
                groupby=["agent_name", "team"],
                metrics=["late_logins", "early_logouts", "absences", "long_not_ready"],
                order_by=[("absences", False)],
                having="sum(late_logins) + sum(early_logouts) + sum(absences) + sum(long_not_ready_count) > 0",
                width=12,
            ),
        ],
        [
            table(
                "agent_schedule_rules",
                "排班规则违规 Schedule-rule violations",
                "agg_schedule_compliance",
                columns=[
                    "month",
                    "agent_id",
                    "consecutive_work_days_max",
                    "rest_days",
                    "monthly_hours",
                    "small_night_shifts",
                    "big_night_shifts",
                    "violations",
                ],
                order_by=[("violations", False)],
                where="violations > 0",
                width=12,
            )
        ],
    ]
    cx = [
        [
            big_number_total("cx_csat_total", "满意度 CSAT (top-2-box)", "agg_csat_daily", "csat", PCT, 3),
            big_number_total("cx_csat_n", "满意度样本量 CSAT n", "agg_csat_daily", "csat_responses", INT, 3),
            big_number_total("cx_nps_total", "净推荐值 NPS", "agg_csat_daily", "nps", NUM, 3),
            big_number_total(
                "cx_fcr_total", "一次解决率 FCR (repeat-based)", "agg_fcr_daily", "fcr_repeat", PCT, 3
            ),
        ],
        [
            line("cx_csat_trend", "满意度趋势 CSAT trend", "agg_csat_daily", ["csat"], grain="P1W", width=6),
            line(
                "cx_nps_trend",
                "净推荐值趋势 NPS trend",
                "agg_csat_daily",
                ["nps"],
                grain="P1W",
                fmt=NUM,
                width=6,
            ),
        ],
        [
            table(
                "cx_weekly_n",
                "满意度与NPS(含样本量, n<30 需谨慎) CSAT and NPS with n (n < 30: read with care)",
                "agg_csat_daily",
                groupby=["queue_code"],
                metrics=["csat", "csat_mean", "csat_responses", "nps", "nps_responses", "response_rate"],
                width=6,
            ),
            Chart(
                "cx_fcr_methods",
                "一次解决率三种口径 FCR methods side by side",
                "echarts_timeseries_bar",
                "agg_fcr_daily",
                {
                    "x_axis": "queue_code",
                    "metrics": ["fcr_repeat", "fcr_survey", "fcr_agent"],
                    "groupby": [],
                    "y_axis_format": PCT,
                    "show_legend": True,
                    "legendOrientation": "top",
                    "row_limit": 100,
                    "orientation": "vertical",
                    "x_axis_sort_asc": True,
                    "annotation_layers": [],
                },
                6,
                50,
            ),
        ],
        [
            Chart(
                "cx_complaints_by_reason",
                "投诉原因 Complaints by reason",
                "echarts_timeseries_bar",
                "agg_complaints_daily",
                {
                    "x_axis": "disposition",
                    "metrics": ["complaints"],
                    "groupby": [],
                    "y_axis_format": ",d",
                    "row_limit": 50,
                    "orientation": "horizontal",
                    "x_axis_sort": "complaints",
                    "x_axis_sort_asc": False,
                    "show_legend": False,
                    "annotation_layers": [],
                },
                12,
                50,
            )
        ],
    ]
    stress = [
        [
            big_number_total(
                "stress_returned",
                "回收问卷 Questionnaires returned",
                "agg_stress_wave",
                "returned_n",
                INT,
                3,
                filters=["grouping = 'all'"],
            ),
            big_number_total(
                "stress_response_rate",
                "回收率 Response rate",
                "agg_stress_wave",
                "survey_response_rate",
                PCT,
                3,
                filters=["grouping = 'all'"],
            ),
            Chart("stress_markdown", "", "markdown_note", "agg_stress_dimension", {}, 6, 30),
        ],
        [
            table(
                "stress_by_group",
                "维度得分(按组; <5人的格子显示为已隐藏) Dimension scores by group (cells < 5 shown as suppressed)",
                "agg_stress_dimension",
                columns=[
                    "grouping",
                    "group_value",
                    "dimension_zh",
                    "dimension_en",
                    "n_label",
                    "mean_score",
                    "ci_low",
                    "ci_high",
                    "high_stress_num",
                    "high_stress_den",
                    "stressor_type",
                    "suppressed",
                ],
                order_by=[("grouping", True), ("group_value", True), ("dimension_order", True)],
                width=12,
                height=70,
                row_limit=2000,
            )
        ],
        [
            table(
                "stress_reliability",
                "信度与效度 Reliability (Cronbach's α, KMO, Bartlett)",
                "agg_stress_reliability",
                columns=[
                    "scope",
                    "dimension_zh",
                    "dimension_en",
                    "n_respondents",
                    "n_items",
                    "alpha",
                    "kmo",
                    "bartlett_chi2",
                    "bartlett_df",
                    "bartlett_p",
                    "suppressed",
                ],
                order_by=[("scope", False), ("dimension_code", True)],
                where="row_type = 'scale'",
                width=6,
            ),
            table(
                "stress_group_tests",
                "分组差异检验 Group differences (Welch t / ANOVA)",
                "agg_stress_group_tests",
                columns=[
                    "dimension_zh",
                    "grouping",
                    "test",
                    "statistic",
                    "p_value",
                    "significant",
                    "effect_size_name",
                    "effect_size",
                    "groups_tested",
                ],
                order_by=[("p_value", True)],
                width=6,
            ),
        ],
        [
            table(
                "stress_workload",
                "压力与工作负荷(按组) Stress vs workload by team",
                "agg_stress_workload",
                columns=[
                    "team",
                    "dimension_zh",
                    "n_label",
                    "mean_score",
                    "occupancy",
                    "contacts_per_logged_in_hour",
                    "night_shifts_per_agent_month",
                    "consecutive_work_days_max_avg",
                    "suppressed",
                ],
                order_by=[("team", True), ("dimension_code", True)],
                width=12,
            )
        ],
    ]
    dq = [
        [
            big_number_total("dq_checks_total", "检查数 Checks run", "dq_results", "checks", INT, 4),
            big_number_total(
                "dq_failed_total", "失败检查数 Failed checks", "dq_results", "failed_checks", INT, 4
            ),
            big_number_total(
                "dq_quarantined_total",
                "隔离行数 Quarantined rows",
                "dq_quarantine_summary",
                "quarantined_rows",
                INT,
                4,
            ),
        ],
        [
            line(
                "dq_results_over_time",
                "检查结果趋势 Check results over time",
                "dq_results",
                ["checks", "failed_checks"],
                x="checked_at",
                grain="P1D",
                fmt=",d",
                width=12,
                kind="echarts_timeseries_bar",
            )
        ],
        [
            Chart(
                "dq_quarantine_by_reason",
                "隔离行数(按原因) Quarantined rows by reason",
                "echarts_timeseries_bar",
                "dq_quarantine_summary",
                {
                    "x_axis": "reason",
                    "metrics": ["quarantined_rows"],
                    "groupby": ["source"],
                    "y_axis_format": ",d",
                    "row_limit": 100,
                    "orientation": "horizontal",
                    "stack": "Stack",
                    "show_legend": True,
                    "legendOrientation": "top",
                    "annotation_layers": [],
                },
                6,
                50,
            ),
            table(
                "dq_freshness",
                "各数据源新鲜度 Freshness per source",
                "dq_source_freshness",
                columns=["source", "last_loaded_at", "last_event_ts", "files", "rows_loaded"],
                order_by=[("source", True)],
                width=6,
                time_filter_=False,
            ),
        ],
        [
            table(
                "dq_failures",
                "失败与警告明细 Failed checks",
                "dq_results",
                columns=[
                    "checked_at",
                    "severity",
                    "suite",
                    "table_name",
                    "check_name",
                    "observed_value",
                    "unexpected_count",
                ],
                order_by=[("checked_at", False)],
                where="not success",
                row_limit=200,
                width=12,
            )
        ],
    ]
    return {
        "executive_overview": executive,
        "service_level": service,
        "agent_performance": agents,
        "customer_experience": cx,
        "stress_survey": stress,
        "data_quality": dq,
    }


DASHBOARDS = {
    "executive_overview": (
        "运营总览 Executive overview",
        "服务水平、接通、满意度与投诉一览。Service, access, satisfaction and complaints at a glance.",
    ),
    "service_level": (
        "服务水平 Service level and queues",
        "按队列和时段的服务水平与人力。Service level and staffing by queue and interval. 点击未达标时段查看放弃明细 (click a missed interval for its abandoned contacts).",
    ),
    "agent_performance": (
        "坐席绩效与排班 Agent performance and workforce",
        "计分卡、处理时长、占用率、遵从率与考勤。Scorecard, AHT, occupancy, adherence and attendance.",
    ),
    "customer_experience": (
        "客户体验 Customer experience",
        "满意度、NPS、一次解决率与投诉。CSAT, NPS, FCR and complaints; every survey figure shows its n.",
    ),
    "stress_survey": (
        "员工压力 Agent stress survey",
        "匿名调查：少于5人的格子不公布。Anonymous survey: cells with fewer than 5 respondents are suppressed.",
    ),
    "data_quality": (
        "数据质量 Data quality",
        "检查结果、隔离记录与数据新鲜度。Check results, quarantined rows and source freshness.",
    ),
}

# Native filters: (name, column or None for time, datasets offering the column)
FILTER_COLUMNS = {
    "queue": (
        "队列 Queue",
        "queue_code",
        [
            "agg_queue_daily",
            "agg_queue_interval",
            "agg_fcr_daily",
            "agg_csat_daily",
            "fct_queue_stints",
            "fct_abandoned_stints",
            "agg_staffing_interval",
            "agg_contact_outcomes_daily",
            "agg_complaints_daily",
        ],
    ),
    "team": ("班组 Team", "team", ["agg_team_daily", "agg_agent_daily", "agg_agent_monthly_scorecard"]),
    "site": (
        "站点 Site",
        "site_code",
        [
            "agg_queue_daily",
            "agg_queue_interval",
            "agg_team_daily",
            "agg_agent_daily",
            "fct_agent_segments",
            "agg_staffing_interval",
            "agg_contact_outcomes_daily",
            "agg_complaints_daily",
        ],
    ),
    "wave": ("调查批次 Survey wave", "wave", ["agg_stress_wave", "agg_stress_dimension"]),
    "source": ("数据源 Source", "source", ["dq_quarantine_summary", "dq_source_freshness"]),
}
DASHBOARD_FILTERS = {
    "executive_overview": ["time", "queue", "site"],
    "service_level": ["time", "queue", "site"],
    "agent_performance": ["time", "team", "site"],
    "customer_experience": ["time", "queue", "site"],
    "stress_survey": ["wave"],
    "data_quality": ["time", "source"],
}


def native_filter(slug: str, key: str, datasets_used: set[str]) -> dict:
    base = {
        "id": f"NATIVE_FILTER-{slug}-{key}",
        "type": "NATIVE_FILTER",
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        "description": "",
    }
    if key == "time":
        return {
            **base,
            "name": "日期范围 Date range",
            "filterType": "filter_time",
            "targets": [{}],
            "controlValues": {"enableEmptyFilter": False},
        }
    name, column, candidates = FILTER_COLUMNS[key]
    dataset = next(d for d in candidates if d in datasets_used)
    return {
        **base,
        "name": name,
        "filterType": "filter_select",
        "targets": [{"column": {"name": column}, "datasetUuid": DATASETS[dataset].uuid}],
        "controlValues": {
            "multiSelect": True,
            "enableEmptyFilter": False,
            "defaultToFirstItem": False,
            "inverseSelection": False,
            "searchAllOptions": False,
        },
    }


def markdown(text: str, key: str) -> tuple[str, dict]:
    node_id = f"MARKDOWN-{key}"
    return node_id, {
        "type": "MARKDOWN",
        "id": node_id,
        "children": [],
        "meta": {"width": 12, "height": 12, "code": text},
    }


def dashboard_yaml(slug: str, rows: list[list[Chart]]) -> dict:
    title, blurb = DASHBOARDS[slug]
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    glossary = f"{blurb}\n\n指标定义 Metric definitions: `{GLOSSARY}` (hover a metric for its definition) · 数据 Data: serving.duckdb, schema `marts`"
    md_id, md = markdown(glossary, slug)
    grid = position["GRID_ID"]["children"]
    intro_row = f"ROW-{slug}-intro"
    position[intro_row] = {
        "type": "ROW",
        "id": intro_row,
        "children": [md_id],
        "parents": ["ROOT_ID", "GRID_ID"],
        "meta": {"background": "BACKGROUND_TRANSPARENT"},
    }
    md["parents"] = ["ROOT_ID", "GRID_ID", intro_row]
    position[md_id] = md
    grid.append(intro_row)
    chart_id = 0
    datasets_used: set[str] = set()
    for r, row in enumerate(rows):
        row_id = f"ROW-{slug}-{r}"
        children = []
        for chart in row:
            chart_id += 1
            if chart.viz == "markdown_note":  # a text block, not a chart
                node_id, node = markdown(STRESS_NOTE, f"{slug}-{r}")
                node["meta"]["width"], node["meta"]["height"] = chart.width, chart.height
            else:
                node_id = f"CHART-{chart.key}"
                node = {
                    "type": "CHART",
                    "id": node_id,
                    "children": [],
                    "meta": {
                        "chartId": chart_id,
                        "width": chart.width,
                        "height": chart.height,
                        "sliceName": chart.title,
                        "uuid": chart.uuid,
                    },
                }
                datasets_used.add(chart.dataset)
            node["parents"] = ["ROOT_ID", "GRID_ID", row_id]
            position[node_id] = node
            children.append(node_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": children,
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        grid.append(row_id)
    return {
        "dashboard_title": title,
        "description": None,
        "css": "",
        "slug": slug,
        "certified_by": "",
        "certification_details": "",
        "published": True,
        "uuid": uid("dashboard", slug),
        "position": position,
        "metadata": {
            "color_scheme": "supersetColors",
            "cross_filters_enabled": True,
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "shared_label_colors": [],
            "map_label_colors": {},
            "color_scheme_domain": [],
            "native_filter_configuration": [
                native_filter(slug, k, datasets_used) for k in DASHBOARD_FILTERS[slug]
            ],
        },
        "version": "1.0.0",
    }


STRESS_NOTE = (
    "**隐私 Privacy.** 答卷匿名，不与坐席编号关联；少于5人的格子显示为“已隐藏 suppressed”，并做互补隐藏，"
    "以免通过相减推算。Responses are anonymous and never joined to an agent; cells with fewer than 5 respondents "
    "show as suppressed (with complementary suppression). 量表 Scale: 1 非常不符合 … 5 非常符合; ≥ 4 = high stress."
)


def database_yaml() -> dict:
    return {
        "database_name": DATABASE_NAME,
        # Templated at import time by dashboards/superset/bootstrap.py: each instance has its own path.
        "sqlalchemy_uri": "duckdb:///${SERVING_DB_PATH}",
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {
            "allows_virtual_table_explore": False,
            "disable_data_preview": False,
            "cancel_query_on_windows_unload": True,
            "schemas_allowed_for_file_upload": [],
            "metadata_cache_timeout": {},
            "engine_params": {
                "connect_args": {
                    "read_only": True,
                    "config": {
                        "enable_external_access": False,
                        "autoload_known_extensions": False,
                        "autoinstall_known_extensions": False,
                        "allow_community_extensions": False,
                        "lock_configuration": True,
                    },
                }
            },
        },
        "uuid": DATABASE_UUID,
        "version": "1.0.0",
    }


def render() -> dict[str, dict]:
    files: dict[str, dict] = {
        "metadata.yaml": {"version": "1.0.0", "type": "assets", "timestamp": "2026-11-22T00:00:00+00:00"}
    }
    files[f"databases/{DATABASE_NAME}.yaml"] = database_yaml()
    for ds in DATASETS.values():
        files[f"datasets/{DATABASE_NAME}/{ds.table}.yaml"] = ds.as_yaml()
    for slug, rows in build_charts(seed_targets()).items():
        for row in rows:
            for chart in row:
                if chart.viz == "markdown_note":
                    continue
                finish(chart)
                d = chart.as_yaml()
                d["params"]["adhoc_filters"] += d["params"].pop("_adhoc_extra", [])
                files[f"charts/{slug}/{chart.key}.yaml"] = d
        files[f"dashboards/{slug}.yaml"] = dashboard_yaml(slug, rows)
    return files


HEADER = "# Generated by dashboards/generate_bundle.py: edit that file, then regenerate.\n"


def write(target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    for rel, content in render().items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            HEADER + yaml.safe_dump(content, allow_unicode=True, sort_keys=True, width=120), encoding="utf-8"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if dashboards/bundle differs from the generator"
    )
    args = parser.parse_args(argv)
    if not args.check:
        write(BUNDLE)
        print(f"wrote {sum(1 for _ in BUNDLE.rglob('*.yaml'))} files to {BUNDLE}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "bundle"
        write(fresh)
        stale = sorted(
            p.relative_to(fresh).as_posix()
            for p in fresh.rglob("*.yaml")
            if not (BUNDLE / p.relative_to(fresh)).is_file()
            or (BUNDLE / p.relative_to(fresh)).read_bytes() != p.read_bytes()
        )
        extra = sorted(
            p.relative_to(BUNDLE).as_posix()
            for p in BUNDLE.rglob("*.yaml")
            if not (fresh / p.relative_to(BUNDLE)).exists()
        )
    if stale or extra:
        print(
            f"dashboards/bundle is stale: {stale + extra}; run python -m dashboards.generate_bundle",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
