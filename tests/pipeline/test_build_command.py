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


def _hold_lock(data_dir: str, held: str, release: str) -> None:
    """A child process holding the instance lock the way a Dagster step does, until told to stop."""
    import time
    from pathlib import Path

    from dagster_project.defs.resources import CallcenterInstance

    with CallcenterInstance(data_dir=data_dir, writer_wait_s=0).writer_lock():
        Path(held).touch()
        while not Path(release).exists():
            time.sleep(0.05)


def test_dagster_steps_and_cli_builds_share_one_writer_lock(data_dir, tmp_path, capsys):
    """A CLI build is refused while a Dagster step writes; a waiting step gets the lock once it is free."""
    import multiprocessing
    import time

    from callcenter.pipeline import instance_lock

    held, release = tmp_path / "held", tmp_path / "release"
    child = multiprocessing.get_context("spawn").Process(
        target=_hold_lock, args=(str(data_dir), str(held), str(release))
    )
    child.start()
    try:
        deadline = time.monotonic() + 60
        while not held.exists():
            assert child.is_alive() and time.monotonic() < deadline, "the child never took the lock"
            time.sleep(0.05)
        assert main(["--data-dir", str(data_dir), "build", "--skip-ingest"]) == 2
        assert f"pid {child.pid}" in capsys.readouterr().err
        release.touch()
        with instance_lock(data_paths(data_dir), wait_s=60):  # waits for the step, then holds it
            child.join(30)
            assert child.exitcode == 0  # it released the lock and ended cleanly
    finally:
        release.touch()
        child.join(30)
