"""Readers in another process never see a lock error or a mix of two snapshots while we publish."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from warehouse_factory import execute

from callcenter import publish

READER = Path(__file__).parent / "serving_reader.py"


def start_reader(serving: Path, tmp: Path) -> tuple[subprocess.Popen, Path, Path]:
    stop, summary = tmp / "stop-reader", tmp / "reader.json"
    proc = subprocess.Popen([sys.executable, str(READER), str(serving), str(stop), str(summary)])
    return proc, stop, summary


def stop_reader(proc: subprocess.Popen, stop: Path, summary: Path) -> dict:
    stop.touch()
    assert proc.wait(timeout=60) == 0
    return json.loads(summary.read_text())


def test_reader_loop_during_repeated_publishes(instance, tmp_path):
    publish.publish(instance, "first")
    proc, stop, summary = start_reader(instance.serving, tmp_path)
    try:
        for i in range(8):
            # every snapshot has a different row count in fct_contacts: a mix would show
            execute(
                instance.warehouse,
                "delete from marts.fct_contacts where contact_id = (select min(contact_id) from marts.fct_contacts)",
            )
            publish.publish(instance, f"run{i}")
            time.sleep(0.2)
    finally:
        result = stop_reader(proc, stop, summary)
    assert result["lock_errors"] == [] and result["other_errors"] == [] and result["mixes"] == []
    assert result["iterations"] > 20
    assert len(result["snapshots"]) >= 3  # the reader really saw snapshots change under it
