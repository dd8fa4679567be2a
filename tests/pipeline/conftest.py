"""Fixtures for the orchestration / quality-gate / publishing tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from warehouse_factory import make_warehouse  # noqa: E402

from callcenter.config import Paths, data_paths  # noqa: E402


@pytest.fixture
def instance(data_dir: Path) -> Paths:
    """An instance whose warehouse holds a small, clean raw + marts layer (no dbt needed)."""
    paths = data_paths(data_dir).ensure()
    make_warehouse(paths.warehouse)
    return paths
