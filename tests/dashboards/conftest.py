"""One real Superset for the whole test session (bootstrap takes ~40-60 s on these machines).

The instance is started the way users start it, `callcenter serve --background`, on a random
free port with its own temporary data dir. Its serving database is either the real pipeline's
output (`callcenter simulate --days 7` + `callcenter build --demo`) or, while that is not
available, a small fixture built from the marts contract (dash_serving_fixture.py). Choose with
DASHBOARDS_TEST_DATA=pipeline|fixture (default: fixture), or point DASHBOARDS_TEST_SERVING at
an existing serving.duckdb (e.g. from `callcenter build --demo`) to test on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dash_serving_fixture import build_serving_fixture

from bench import render
from bench.harness import free_port

REPO = Path(__file__).resolve().parents[2]
SUPERSET_PYTHON = REPO / ".venv-superset" / "bin" / "python"
ARTIFACTS = REPO / "test-artifacts" / "dashboards"


@dataclass
class SupersetInstance:
    url: str
    data_dir: Path
    serving: Path
    passwords: dict[str, str]

    def env(self) -> dict[str, str]:
        """The environment `callcenter serve` gives Superset (to re-run the bootstrap in tests)."""
        return {
            **os.environ,
            "SUPERSET_CONFIG_PATH": str(REPO / "dashboards" / "superset" / "superset_config.py"),
            "SUPERSET_HOME": str(self.data_dir / "superset"),
            "SUPERSET_SECRET_KEY": (self.data_dir / "secrets" / "superset_secret_key").read_text().strip(),
        }

    def query(self, sql: str):
        """Ground truth straight from the serving file, read-only like Superset."""
        con = duckdb.connect(str(self.serving), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def cli(data_dir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "CALLCENTER_DATA_DIR": str(data_dir)}
    env.setdefault("CALLCENTER_HMAC_KEY", "dashboards-test-key")
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def build_serving(data_dir: Path) -> Path:
    serving = data_dir / "serving" / "serving.duckdb"
    if existing := os.environ.get("DASHBOARDS_TEST_SERVING"):  # a serving file built earlier by the pipeline
        serving.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(existing, serving)
        return serving
    if os.environ.get("DASHBOARDS_TEST_DATA", "fixture") == "pipeline":
        for args in (("simulate", "--days", "7"), ("build", "--demo")):
            done = cli(data_dir, *args, timeout=900)
            assert done.returncode == 0, f"callcenter {' '.join(args)} failed: {done.stderr[-2000:]}"
        assert serving.is_file(), "callcenter build --demo published no serving database"
        return serving
    return build_serving_fixture(serving)


@pytest.fixture(scope="session")
def superset(tmp_path_factory: pytest.TempPathFactory):
    if not SUPERSET_PYTHON.is_file():
        pytest.skip("no .venv-superset (make setup)")
    data_dir = tmp_path_factory.mktemp("superset_instance")
    serving = build_serving(data_dir)
    port = free_port()
    started = cli(data_dir, "serve", "--background", "--port", str(port))
    if started.returncode != 0:
        log = data_dir / "run" / "superset-bootstrap.log"
        tail = log.read_text()[-3000:] if log.is_file() else ""
        pytest.fail(f"callcenter serve failed: {started.stderr}\n{tail}")
    passwords = render.read_logins(data_dir)
    try:
        yield SupersetInstance(f"http://127.0.0.1:{port}", data_dir, serving, passwords)
    finally:
        cli(data_dir, "serve", "--stop", timeout=60)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
