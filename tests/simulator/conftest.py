"""Small simulated centers shared by the simulator tests (each is simulated once per session)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from simulator import simulate

SEED = 7


def _run(root: Path, **kw):
    return simulate(root, progress=False, **kw)


@pytest.fixture(scope="session")
def canonical_run(tmp_path_factory):
    """3 days, small: the format/consistency tests."""
    root = tmp_path_factory.mktemp("canonical")
    return _run(root, days=3, start=date(2026, 3, 2), seed=SEED, scale=0.3)


@pytest.fixture(scope="session")
def asterisk_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("asterisk")
    return _run(root, days=3, start=date(2026, 3, 2), seed=SEED, scale=0.3, telephony="asterisk")


@pytest.fixture(scope="session")
def connect_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("connect")
    return _run(root, days=3, start=date(2026, 3, 2), seed=SEED, scale=0.3, telephony="amazon-connect")


@pytest.fixture(scope="session")
def stats_run(tmp_path_factory):
    """12 days at half scale: enough closed 7-day windows and intervals for the statistical shape."""
    root = tmp_path_factory.mktemp("stats")
    return _run(root, days=12, start=date(2026, 3, 2), seed=SEED, scale=0.5)


@pytest.fixture(scope="session")
def dirty_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dirty")
    return _run(root, days=4, start=date(2026, 3, 2), seed=SEED, scale=0.2, dirty=True)


@pytest.fixture
def sql():
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    yield lambda q, *a: con.execute(q, *a).df()
    con.close()
