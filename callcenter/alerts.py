"""Operational alerts: a local JSON-lines log, a webhook (JSON) and email, by configuration.

Every alert says what failed (`kind`, `title`), which table or file, how many rows, and where to
look (Data Docs path, Dagster run id, log file) — and never carries personal data: any run of 7–15
digits (a phone number, possibly formatted) in the text is masked before it leaves this module.

Configuration (environment):
- ``CALLCENTER_ALERT_WEBHOOK``: URL that receives each alert as a JSON POST (Slack-compatible
  ``text`` field included).
- ``CALLCENTER_SMTP_HOST`` (+ ``CALLCENTER_SMTP_PORT``, ``CALLCENTER_SMTP_USER``,
  ``CALLCENTER_SMTP_PASSWORD``, ``CALLCENTER_SMTP_STARTTLS=1``), ``CALLCENTER_ALERT_EMAIL_TO``
  (comma-separated) and ``CALLCENTER_ALERT_EMAIL_FROM``: email.
The local log ``<data-dir>/alerts/alerts.log`` always gets the alert, plus a line for any channel
that could not be reached, so a broken webhook never hides an alert.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from callcenter.config import Paths

WEBHOOK_ENV = "CALLCENTER_ALERT_WEBHOOK"
SMTP_HOST_ENV = "CALLCENTER_SMTP_HOST"
EMAIL_TO_ENV = "CALLCENTER_ALERT_EMAIL_TO"

# Kinds the pipeline raises; the webhook receiver can route on them.
KINDS = {
    "run_failed",  # a build / Dagster run failed (any step)
    "check_failed",  # a blocking data-quality check failed: nothing was published
    "check_warning",  # a warn-level check failed: published anyway
    "stale_source",  # a source has not delivered within its freshness window
    "volume_anomaly",  # a day's volume is far from the same weekday's history
    "file_rejected",  # a landing file could not be read at all
    "publish_failed",  # the serving snapshot could not be swapped in
}

# 7-15 digits, optionally with the separators phone numbers are written with, not glued to letters
# (so ids like 20261122T0800Z survive); ISO dates are kept (they identify the day, not a person).
_PHONE_LIKE = re.compile(r"(?<!\w)\+?\d(?:[\s\-().]?\d){6,14}(?!\w)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A UUID (run ids) is matched first and kept whole: groups like "-4748-4831-" are digits only often
# enough (about 1 run id in 3) to look like a phone number.
_UUID = r"(?<![\w-])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![\w-])"
_MASKABLE = re.compile(f"(?P<uuid>{_UUID})|{_PHONE_LIKE.pattern}")


def _mask_match(m: re.Match) -> str:
    return m.group(0) if m.group("uuid") or _ISO_DATE.fullmatch(m.group(0)) else "<masked>"


def mask_personal_data(value: Any) -> Any:
    """Mask phone-number-like digit runs in every string inside `value` (dicts/lists walked)."""
    if isinstance(value, str):
        return _MASKABLE.sub(_mask_match, value)
    if isinstance(value, dict):
        return {k: mask_personal_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_personal_data(v) for v in value]
    return value


def _alert_log(paths: Paths) -> os.PathLike:
    paths.alerts.mkdir(parents=True, exist_ok=True)
    return paths.alerts / "alerts.log"


def _append(paths: Paths, record: dict) -> None:
    with open(_alert_log(paths), "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def _text(alert: dict) -> str:
    d = alert["details"]
    parts = [f"[callcenter {alert['kind']}] {alert['title']}"]
    for key in ("table", "file", "rows", "check", "run_id", "dagster_run_id", "data_docs", "log"):
        if d.get(key) not in (None, ""):
            parts.append(f"{key}: {d[key]}")
    return "\n".join(parts)


def _post_webhook(url: str, alert: dict) -> None:
    import requests  # imported lazily: most runs have no webhook configured

    payload = dict(alert, text=_text(alert))
    resp = requests.post(url, json=payload, timeout=10)
    resp.raise_for_status()


def _send_email(alert: dict) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"[callcenter {alert['kind']}] {alert['title']}"
    msg["From"] = os.environ.get("CALLCENTER_ALERT_EMAIL_FROM", f"callcenter@{socket.gethostname()}")
    msg["To"] = os.environ[EMAIL_TO_ENV]
    msg.set_content(_text(alert) + "\n\n" + json.dumps(alert["details"], indent=2, default=str))
    port = int(os.environ.get("CALLCENTER_SMTP_PORT", "25"))
    with smtplib.SMTP(os.environ[SMTP_HOST_ENV], port, timeout=10) as smtp:
        if os.environ.get("CALLCENTER_SMTP_STARTTLS") == "1":
            smtp.starttls()
        if os.environ.get("CALLCENTER_SMTP_USER"):
            smtp.login(os.environ["CALLCENTER_SMTP_USER"], os.environ.get("CALLCENTER_SMTP_PASSWORD", ""))
        smtp.send_message(msg)


def send_alert(paths: Paths, kind: str, title: str, details: dict | None = None) -> dict:
    """Record an alert locally and deliver it to the configured channels. Never raises on delivery.

    `details` should name the table or file, the row count, and where to look (``data_docs``,
    ``dagster_run_id``/``run_id``, ``log``). Returns the alert as logged.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}; known: {sorted(KINDS)}")
    alert = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kind": kind,
        "title": mask_personal_data(title),
        "instance": str(paths.root),
        "details": mask_personal_data(details or {}),
    }
    delivered = ["log"]
    failures = []
    webhook = os.environ.get(WEBHOOK_ENV)
    if webhook:
        try:
            _post_webhook(webhook, alert)
            delivered.append("webhook")
        except Exception as e:  # delivery problems must never hide the alert itself
            failures.append(f"webhook: {type(e).__name__}: {e}")
    if os.environ.get(SMTP_HOST_ENV) and os.environ.get(EMAIL_TO_ENV):
        try:
            _send_email(alert)
            delivered.append("email")
        except Exception as e:
            failures.append(f"email: {type(e).__name__}: {e}")
    alert["delivered"] = delivered
    if failures:
        alert["delivery_errors"] = mask_personal_data(failures)
    _append(paths, alert)
    return alert


def read_alerts(paths: Paths) -> list[dict]:
    log = paths.alerts / "alerts.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
