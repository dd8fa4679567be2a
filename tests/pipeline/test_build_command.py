"""`callcenter build` refuses to run without a configured key (outside --demo), and one build at a time."""

from __future__ import annotations

import fcntl

from callcenter.cli import main
from callcenter.config import data_paths


def test_build_without_key_is_a_one_line_user_error(data_dir, monkeypatch, capsys):
    monkeypatch.delenv("CALLCENTER_HMAC_KEY")
    assert main(["--data-dir", str(data_dir), "build"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no pseudonymisation key" in err[0]
    assert not data_paths(data_dir).serving.exists()


def test_second_concurrent_build_is_refused(data_dir, capsys):
    paths = data_paths(data_dir).ensure()
    with open(paths.run / "build.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running build holds it
        assert main(["--data-dir", str(data_dir), "build", "--skip-ingest"]) == 2
    assert "another build is running" in capsys.readouterr().err
