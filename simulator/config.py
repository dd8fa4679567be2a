"""What the simulated center looks like: queues from the dbt seed, behaviour parameters per queue.

Queues, sites, time zones and SL thresholds are read from ``dbt/seeds/queue_config.csv`` (the
center's configuration), so the simulator and the warehouse can never disagree about them.
Everything else here is behaviour (volumes, handle-time shapes, patience), which is the
simulator's own business.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
QUEUE_SEED = REPO_ROOT / "dbt" / "seeds" / "queue_config.csv"
STRESS_ITEMS_SEED = REPO_ROOT / "dbt" / "seeds" / "stress_items.csv"
MAPPINGS = REPO_ROOT / "ingestion" / "mappings"

SITE_REGION = {"sha": "CN", "lon": "GB"}
SITE_NAME_ZH = {"sha": "上海", "lon": "伦敦"}


@dataclass(frozen=True)
class QueueBehaviour:
    weekday_volume: float  # contacts per weekday at scale 1 (new contacts + repeats + transfers)
    weekend_factor: tuple[float, float]  # Saturday, Sunday
    promo_factor: float
    talk_median_s: float
    talk_sigma: float
    hold_share: float  # share of handled legs with a hold
    hold_median_s: float
    acw_median_s: float
    patience_mean_s: float
    timeout_s: int  # queue's max wait (EXITWITHTIMEOUT)
    resolve_p: float  # first-contact true resolution probability
    complaint_p: float
    transfer_p: float
    transfer_targets: tuple[str, ...]
    dispositions: tuple[str, ...]
    extension: str  # dialled number / Asterisk extension of the queue
    open_hours: tuple[int, int] | None  # local hours with staff; None = 24/7


BEHAVIOUR: dict[str, QueueBehaviour] = {
    "presales": QueueBehaviour(
        1050,
        (0.85, 0.75),
        1.9,
        170,
        0.55,
        0.18,
        35,
        25,
        110,
        600,
        0.88,
        0.01,
        0.06,
        ("aftersales", "tech_support"),
        ("product_info", "pricing", "order_help", "promotion"),
        "8001",
        None,
    ),
    "aftersales": QueueBehaviour(
        900,
        (0.8, 0.7),
        1.35,
        230,
        0.6,
        0.3,
        45,
        40,
        130,
        600,
        0.8,
        0.03,
        0.07,
        ("tech_support", "complaints"),
        ("return", "refund", "delivery", "warranty"),
        "8002",
        None,
    ),
    "complaints": QueueBehaviour(
        210,
        (0.7, 0.6),
        1.5,
        400,
        0.55,
        0.45,
        60,
        110,
        200,
        900,
        0.62,
        0.92,
        0.0,
        (),
        ("service_complaint", "product_complaint", "delivery_complaint"),
        "8003",
        None,
    ),
    "tech_support": QueueBehaviour(
        560,
        (0.6, 0.5),
        1.1,
        330,
        0.6,
        0.4,
        70,
        60,
        160,
        900,
        0.72,
        0.02,
        0.05,
        ("complaints",),
        ("setup", "fault", "account", "network"),
        "8004",
        None,
    ),
    "intl_support": QueueBehaviour(
        300,
        (0.55, 0.45),
        1.2,
        280,
        0.6,
        0.25,
        40,
        45,
        120,
        600,
        0.8,
        0.02,
        0.0,
        (),
        ("order_status", "return", "billing"),
        "8005",
        (8, 20),
    ),
}


@dataclass(frozen=True)
class Queue:
    code: str
    name_zh: str
    site: str
    tz: str
    sl_threshold_s: int
    short_abandon_s: int
    behaviour: QueueBehaviour


def load_queues(seed: Path = QUEUE_SEED) -> list[Queue]:
    """Queues in routing order: transfers only flow to queues later in this list."""
    with seed.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    default = QueueBehaviour(
        300, (0.7, 0.6), 1.0, 240, 0.6, 0.3, 45, 40, 120, 600, 0.8, 0.02, 0.0, (), ("general",), "8099", None
    )
    queues = [
        Queue(
            code=r["queue_code"],
            name_zh=r["queue_name_zh"],
            site=r["site_code"],
            tz=r["time_zone"],
            sl_threshold_s=int(r["sl_threshold_s"]),
            short_abandon_s=int(r["short_abandon_s"]),
            behaviour=BEHAVIOUR.get(r["queue_code"], default),
        )
        for r in rows
    ]
    codes = [q.code for q in queues]
    for q in queues:  # a transfer target must be a configured queue of the same site
        bad = [t for t in q.behaviour.transfer_targets if t not in codes]
        if bad:
            raise ValueError(f"queue {q.code}: transfer targets {bad} are not in {seed}")
    return queues


def load_mapping(name: str) -> dict:
    with (MAPPINGS / name).open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def headers(mapping: dict, field: str) -> str:
    """The source header a mapping file maps to a raw field (so exports match the mapping exactly)."""
    for header, target in mapping["columns"].items():
        if target == field:
            return header
    raise KeyError(f"mapping {mapping.get('kind')}: no header maps to {field}")


def value_label(mapping: dict, field: str, value) -> str:
    """The source label that a mapping's ``values:`` map turns into ``value``."""
    for label, stored in mapping["values"][field].items():
        if stored == value:
            return label
    raise KeyError(f"mapping {mapping.get('kind')}: no label for {field}={value!r}")


def load_stress_items(seed: Path = STRESS_ITEMS_SEED) -> list[dict]:
    with seed.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["reverse_keyed"] = r["reverse_keyed"].strip().lower() == "true"
    return sorted(rows, key=lambda r: int(r["item_order"]))
