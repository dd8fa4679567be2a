"""Alerts: local log always, webhook JSON when configured, never personal data."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from callcenter.alerts import read_alerts, send_alert
from callcenter.config import data_paths


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_alert_goes_to_log_and_webhook_without_phone_numbers(data_dir, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CALLCENTER_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    paths = data_paths(data_dir)
    try:
        alert = send_alert(
            paths,
            "check_failed",
            "caller +86 138 0013 8000 leaked into marts.fct_contacts",
            {
                "table": "marts.fct_contacts",
                "rows": 3,
                "sample": "13800138000",
                "day": "2026-11-20",
                "data_docs": "/x/dq_docs/index.html",
                "run_id": "r1",
            },
        )
    finally:
        server.shutdown()
    assert alert["delivered"] == ["log", "webhook"]
    logged = read_alerts(paths)
    assert len(logged) == 1 and len(_Hook.received) == 1
    posted = _Hook.received[0]
    for text in (json.dumps(logged[0]), json.dumps(posted)):
        assert "13800138000" not in text and "138 0013 8000" not in text
    assert posted["details"]["day"] == "2026-11-20"  # dates survive masking
    assert posted["details"]["rows"] == 3 and posted["details"]["table"] == "marts.fct_contacts"
    assert "data_docs: /x/dq_docs/index.html" in posted["text"]


def test_unreachable_webhook_is_recorded_not_raised(data_dir, monkeypatch):
    monkeypatch.setenv("CALLCENTER_ALERT_WEBHOOK", "http://127.0.0.1:9/nothing-listens-here")
    paths = data_paths(data_dir)
    alert = send_alert(paths, "run_failed", "build failed", {"run_id": "r2"})
    assert alert["delivered"] == ["log"]
    assert "webhook" in alert["delivery_errors"][0]
    assert read_alerts(paths)[0]["kind"] == "run_failed"


def _tiny_smtp_server(received: list) -> tuple[socket.socket, int]:
    """Just enough SMTP to accept one message (no auth, no TLS)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        f = conn.makefile("rwb")

        def reply(line: str) -> None:
            f.write(line.encode() + b"\r\n")
            f.flush()

        reply("220 test")
        data, in_data = [], False
        for raw in f:
            line = raw.decode().rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    received.append("\n".join(data))
                    reply("250 queued")
                else:
                    data.append(line)
                continue
            cmd = line.split(" ", 1)[0].upper()
            if cmd in ("EHLO", "HELO"):
                reply("250 test")
            elif cmd == "DATA":
                in_data = True
                reply("354 go on")
            elif cmd == "QUIT":
                reply("221 bye")
                break
            else:
                reply("250 ok")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


def test_email_when_smtp_is_configured(data_dir, monkeypatch):
    received: list[str] = []
    srv, port = _tiny_smtp_server(received)
    monkeypatch.setenv("CALLCENTER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CALLCENTER_SMTP_PORT", str(port))
    monkeypatch.setenv("CALLCENTER_ALERT_EMAIL_TO", "oncall@example.com")
    try:
        alert = send_alert(
            data_paths(data_dir),
            "stale_source",
            "agent_states is 40 h behind contact_segments",
            {"table": "raw.agent_states", "rows": 0, "data_docs": "/d/index.html"},
        )
    finally:
        srv.close()
    assert alert["delivered"] == ["log", "email"]
    assert len(received) == 1
    assert "[callcenter stale_source] agent_states is 40 h behind" in received[0]
    assert "table: raw.agent_states" in received[0]


def test_run_ids_survive_masking_and_phone_numbers_do_not():
    from callcenter.alerts import mask_personal_data

    run_id = "2e47a960-4748-4831-b49c-7846a59b1873"  # digit-only groups, as in a real failing run
    masked = mask_personal_data({"dagster_run_id": run_id, "note": f"run {run_id} caller 138-0013-8000"})
    assert masked == {"dagster_run_id": run_id, "note": f"run {run_id} caller <masked>"}
