"""Ingestion tests: hand-written fixtures from the public specs, a throwaway warehouse per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ingest_helpers import FIXTURES


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "warehouse.duckdb"


@pytest.fixture
def fixture_copy(tmp_path: Path):
    """Copy fixture files into a fresh folder (so tests may damage or rename them)."""

    def copy(*names: str, into: str = "in") -> list[Path]:
        dest = tmp_path / into
        dest.mkdir(parents=True, exist_ok=True)
        out = []
        for n in names:
            target = dest / Path(n).name
            shutil.copy(FIXTURES / n, target)
            out.append(target)
        return out

    return copy
