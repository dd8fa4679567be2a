"""Where an instance keeps its files, and its secrets.

Everything an instance owns lives under one data dir (``--data-dir``, ``CALLCENTER_DATA_DIR`` or
``./data``), so several independent instances can live side by side (the tests rely on this).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from callcenter.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "CALLCENTER_DATA_DIR"
HMAC_KEY_ENV = "CALLCENTER_HMAC_KEY"
# DuckDB's memory_limit for the pipeline's own connections (ingest, dbt, checks, publish). Beyond
# it DuckDB spills to disk; without it DuckDB takes up to 80 % of RAM per process, beside Superset
# and Dagster. dbt reads the same variable in dbt/profiles.yml (default kept equal there).
DUCKDB_MEMORY_LIMIT_ENV = "CALLCENTER_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"


def duckdb_memory_limit() -> str:
    return os.environ.get(DUCKDB_MEMORY_LIMIT_ENV) or DEFAULT_DUCKDB_MEMORY_LIMIT


HMAC_KEY_FILE_ENV = "CALLCENTER_HMAC_KEY_FILE"


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def truth(self) -> Path:
        """Simulator ground truth: beside landing, never inside it."""
        return self.root / "truth"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def serving_dir(self) -> Path:
        return self.root / "serving"

    @property
    def serving(self) -> Path:
        return self.serving_dir / "serving.duckdb"

    @property
    def alerts(self) -> Path:
        return self.root / "alerts"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def dq_docs(self) -> Path:
        return self.root / "dq_docs"

    @property
    def run(self) -> Path:
        """Pid files and logs of the services `make demo` starts."""
        return self.root / "run"

    def ensure(self) -> Paths:
        for d in (self.landing, self.warehouse_dir, self.serving_dir, self.alerts, self.run):
            d.mkdir(parents=True, exist_ok=True)
        self.secrets.mkdir(parents=True, exist_ok=True)
        os.chmod(self.secrets, 0o700)
        return self


def data_paths(data_dir: str | os.PathLike | None = None) -> Paths:
    raw = data_dir or os.environ.get(DATA_DIR_ENV) or "data"
    return Paths(Path(raw).expanduser().resolve())


def write_secret(path: Path, value: str) -> None:
    """Write a secret file readable by the owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    os.replace(tmp, path)


def hmac_key(paths: Paths | None = None, *, generate: bool = False) -> bytes:
    """The pseudonymisation key: env var, else a key file named by env, else the instance's own key file.

    Only the demo (``generate=True``) may create a key; anything else refuses to run without one,
    because a key invented on the fly would make yesterday's caller keys unmatchable.
    """
    if os.environ.get(HMAC_KEY_ENV):
        return os.environ[HMAC_KEY_ENV].encode()
    key_file = os.environ.get(HMAC_KEY_FILE_ENV)
    if key_file:
        p = Path(key_file)
        if not p.is_file():
            raise ConfigError(f"{HMAC_KEY_FILE_ENV}={key_file}: no such file")
        return p.read_text().strip().encode()
    if paths is not None:
        own = paths.secrets / "hmac.key"
        if own.is_file():
            return own.read_text().strip().encode()
        if generate:
            write_secret(own, secrets.token_hex(32))
            return own.read_text().strip().encode()
    raise ConfigError(
        f"no pseudonymisation key: set {HMAC_KEY_ENV} or {HMAC_KEY_FILE_ENV} "
        "(the demo generates one under <data-dir>/secrets/hmac.key)"
    )
