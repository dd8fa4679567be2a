"""`callcenter ingest`: per-file table, folder expansion, one-line refusal without a key."""

from __future__ import annotations

import shutil
import subprocess
import sys

from ingest_helpers import FIXTURES


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", *args], capture_output=True, text=True, env=env
    )


def test_ingest_prints_rows_per_file_and_is_idempotent(data_dir, tmp_path):
    import os

    folder = tmp_path / "drop"
    shutil.copytree(FIXTURES / "asterisk", folder)
    env = dict(os.environ)
    r = _cli("--data-dir", str(data_dir), "ingest", str(folder), "--no-progress", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    row = next(x for x in lines if "queue_log-20260302" in x).split()
    assert row[1:] == ["loaded", "29", "26", "3", "0"]
    assert "3 files (0 rejected)" in lines[-1]
    again = _cli("--data-dir", str(data_dir), "ingest", str(folder), "--no-progress", env=env)
    assert again.returncode == 0 and again.stdout.count("already_loaded") == 3


def test_ingest_refuses_without_a_key(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_HMAC")}
    r = _cli("--data-dir", str(tmp_path / "inst"), "ingest", str(FIXTURES / "asterisk"), env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "CALLCENTER_HMAC_KEY" in r.stderr
    assert "Traceback" not in r.stderr


def test_rejected_file_exits_nonzero_with_one_line(data_dir, tmp_path):
    import os

    bad = tmp_path / "queue_log-cut"
    bad.write_bytes((FIXTURES / "asterisk" / "queue_log-20260303").read_bytes()[:-25])
    r = _cli("--data-dir", str(data_dir), "ingest", str(bad), "--no-progress", env=dict(os.environ))
    assert r.returncode == 1
    err = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(err) == 1 and "queue_log-cut: line 5: file is truncated" in err[0]
