"""`callcenter serve`: Superset on the read-only serving database, bootstrapped on first run."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from callcenter.config import REPO_ROOT, Paths, data_paths, write_secret
from callcenter.errors import UserError

HELP = "start Superset on 127.0.0.1 (first run: generate secrets, create roles/users, import dashboards)"

SUPERSET_DIR = REPO_ROOT / "dashboards" / "superset"
BUNDLE_DIR = REPO_ROOT / "dashboards" / "bundle"
USERS = ("admin", "analyst", "executive")
ROLE_OF = {
    "admin": "Admin",
    "analyst": "Analyst (SQL Lab, read-only)",
    "executive": "Executive (dashboards only)",
}
HEALTH_TIMEOUT_S = 180


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=8088, help="port on 127.0.0.1 (default 8088)")
    parser.add_argument("--background", action="store_true", help="detach; pid and log under <data-dir>/run/")
    parser.add_argument("--stop", action="store_true", help="stop a Superset started with --background")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")


def superset_python() -> Path:
    venv = Path(os.environ.get("CALLCENTER_SUPERSET_VENV", REPO_ROOT / ".venv-superset"))
    python = venv / "bin" / "python"
    if not python.is_file():
        raise UserError(f"no Superset virtualenv at {venv}: run `make setup`")
    return python


def pid_file(paths: Paths) -> Path:
    return paths.run / "superset.pid"


def running_pid(paths: Paths) -> int | None:
    try:
        pid = int(pid_file(paths).read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def ensure_secrets(paths: Paths) -> dict[str, str]:
    """SECRET_KEY and one password per login, generated once, 0600 under <data-dir>/secrets/."""
    paths.ensure()
    wanted = {"superset_secret_key": lambda: secrets.token_urlsafe(48)}
    wanted.update({f"superset_{u}.password": lambda: secrets.token_urlsafe(15) for u in USERS})
    values = {}
    for name, make in wanted.items():
        path = paths.secrets / name
        if not path.is_file():
            write_secret(path, make())
        values[name] = path.read_text().strip()
    logins = "".join(f"{u}\t{values[f'superset_{u}.password']}\t{ROLE_OF[u]}\n" for u in USERS)
    write_secret(paths.secrets / "superset_users.txt", "# username\tpassword\trole\n" + logins)
    return values


def superset_env(paths: Paths, secret_key: str) -> dict[str, str]:
    home = paths.root / "superset"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "SUPERSET_CONFIG_PATH": str(SUPERSET_DIR / "superset_config.py"),
            "SUPERSET_HOME": str(home),
            "SUPERSET_SECRET_KEY": secret_key,
            "SUPERSET_SERVING_DB": str(paths.serving),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("SUPERSET_METADATA_DB_URI", None)  # the embedded instance always uses its own SQLite file
    return env


def bootstrap(paths: Paths, env: dict[str, str], python: Path) -> None:
    """Schema + roles on first run, then (every start) the bundle, roles and users: idempotent."""
    marker = paths.root / "superset" / ".initialised"
    cmd = [str(python), str(SUPERSET_DIR / "bootstrap.py"), "--bundle", str(BUNDLE_DIR)]
    cmd += ["--serving", str(paths.serving), "--secrets", str(paths.secrets)]
    if not marker.is_file():
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "callcenter"
        cmd += ["--init", "--schema-cache", str(cache)]
    log = paths.run / "superset-bootstrap.log"
    with log.open("w") as out:
        rc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=paths.root).returncode
    if rc != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise UserError(f"Superset bootstrap failed ({tail[0]}); full log: {log}")
    marker.touch()


def dashboard_columns(bundle: Path = BUNDLE_DIR) -> dict[str, set[str]]:
    """Columns of every mart the dashboard bundle's datasets read: {table: {column, ...}}."""
    import yaml

    needed: dict[str, set[str]] = {}
    for dataset in sorted((bundle / "datasets").glob("*/*.yaml")):
        spec = yaml.safe_load(dataset.read_text(encoding="utf-8"))
        needed[spec["table_name"]] = {c["column_name"] for c in spec.get("columns") or []}
    return needed


def missing_serving_tables(serving: Path, bundle: Path = BUNDLE_DIR) -> list[str]:
    """Marts (``table``) or columns (``table.column``) the dashboards read that this snapshot lacks
    (it was published before they existed)."""
    import duckdb

    from callcenter.publish import PUBLISHED_SCHEMA

    try:
        con = duckdb.connect(str(serving), read_only=True)
    except duckdb.Error:
        return []  # not a database Superset can read either: its own error says more
    try:
        present: dict[str, set[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ?",
            [PUBLISHED_SCHEMA],
        ).fetchall():
            present.setdefault(table, set()).add(column)
    finally:
        con.close()
    missing: list[str] = []
    for table, columns in sorted(dashboard_columns(bundle).items()):
        if table not in present:
            missing.append(table)
        else:
            missing += [f"{table}.{c}" for c in sorted(columns - present[table])]
    return missing


def wait_healthy(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UserError(f"Superset exited with code {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise UserError(f"Superset did not answer /health within {HEALTH_TIMEOUT_S} s; see {log}")


def stop(paths: Paths) -> int:
    pid = running_pid(paths)
    if pid is None:
        pid_file(paths).unlink(missing_ok=True)
        print("Superset is not running")
        return 0
    os.killpg(pid, signal.SIGTERM)  # gunicorn was started in its own session: its workers go too
    for _ in range(30):
        if running_pid(paths) is None:
            break
        time.sleep(0.5)
    else:
        os.killpg(pid, signal.SIGKILL)
    pid_file(paths).unlink(missing_ok=True)
    print(f"Superset stopped (pid {pid})")
    return 0


def run(args) -> int:
    paths = data_paths(args.data_dir)
    if args.stop:
        return stop(paths)
    if pid := running_pid(paths):
        print(f"Superset already running (pid {pid}); stop it with `callcenter serve --stop`")
        return 0
    if not paths.serving.is_file():
        raise UserError(f"no serving database at {paths.serving}: run `callcenter build` first")
    python = superset_python()
    if missing := missing_serving_tables(paths.serving):
        print(
            f"warning: the serving snapshot has no {', '.join(missing)}: the charts reading them will show "
            "errors until `callcenter build` publishes a new snapshot",
            file=sys.stderr,
        )
    values = ensure_secrets(paths)
    env = superset_env(paths, values["superset_secret_key"])
    print("bootstrapping Superset (first run ~40 s) ...", flush=True)
    bootstrap(paths, env, python)

    gunicorn = [str(python.parent / "gunicorn"), "-w", str(args.workers), "-k", "gthread", "--threads", "4"]
    gunicorn += [
        "-b",
        f"127.0.0.1:{args.port}",
        "--timeout",
        "120",
        "--limit-request-line",
        "0",
        "superset.app:create_app()",
    ]
    log = paths.run / "superset.log"
    with log.open("a") as out:
        proc = subprocess.Popen(
            gunicorn, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=paths.root, start_new_session=True
        )
    write_secret(pid_file(paths), str(proc.pid))
    try:
        wait_healthy(args.port, proc, log)
    except BaseException:
        os.killpg(proc.pid, signal.SIGTERM)
        pid_file(paths).unlink(missing_ok=True)
        raise
    print(
        f"Superset: http://127.0.0.1:{args.port}  (logins: {paths.secrets / 'superset_users.txt'})",
        flush=True,
    )
    if args.background:
        print(f"running in the background (pid {proc.pid}, log {log}); stop with `callcenter serve --stop`")
        return 0
    try:
        return proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        return 130
    finally:
        pid_file(paths).unlink(missing_ok=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as: callcenter serve")
