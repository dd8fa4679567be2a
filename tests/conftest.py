"""Suite-wide fixtures. Each area keeps its own fixtures in tests/<area>/conftest.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# dagster-dbt and our CLI call `dbt` by name: make the pipeline venv's bin win.
os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, isolated instance folder with its own pseudonymisation key."""
    d = tmp_path / "instance"
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(d))
    monkeypatch.setenv("CALLCENTER_HMAC_KEY", "test-key-not-secret")
    return d


def pytest_collection_finish(session: pytest.Session) -> None:
    # A suite that silently collects nothing must fail loudly (pytest's exit 5 alone is easy to miss).
    if not session.items and not session.config.option.collectonly:
        raise pytest.UsageError("no tests collected: refusing to report success")
