"""Bootstrap a Superset instance and import the dashboards bundle (runs in the Superset venv).

One process, one app start (each `superset` CLI call costs ~8 s of start-up):
  1. metadata schema upgrade + `superset init` (only when --init is given: first run or upgrade),
  2. the dashboards bundle, imported as assets: every object is upserted by UUID, so a re-import
     updates in place and duplicates nothing; the database URI is templated to this instance's
     serving file and the DuckDB lockdown is verified before anything is written,
  3. roles Executive (view dashboards only) and Analyst (Gamma + SQL Lab on the serving database),
  4. users admin / analyst / executive with passwords read from the instance's secret files.

Usage (the `callcenter serve` command calls it; the docker image's entrypoint too):
  SUPERSET_CONFIG_PATH=.../superset_config.py SUPERSET_SECRET_KEY=... \
    python bootstrap.py --bundle dashboards/bundle --serving /path/serving.duckdb \
    --secrets /path/secrets [--init]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from string import Template

import yaml

# The only accepted database extras: anything else in the bundle means someone loosened it.
REQUIRED_CONNECT_ARGS = {"read_only": True}
REQUIRED_DUCKDB_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "lock_configuration": True,
}
REQUIRED_DATABASE_FLAGS = {
    "allow_dml": False,
    "allow_file_upload": False,
    "allow_ctas": False,
    "allow_cvas": False,
    "expose_in_sqllab": True,
}

# (username, role, first name, last name); passwords come from <secrets>/superset_<user>.password
USERS = [
    ("admin", "Admin", "Superset", "Admin"),
    ("analyst", "Analyst", "Data", "Analyst"),
    ("executive", "Executive", "Center", "Executive"),
]
EXECUTIVE_EXTRA_PERMISSIONS = {
    ("menu_access", "Dashboards"),
    ("can_read", "Dataset"),
    ("can_language_pack", "Superset"),  # the 中文 interface
    ("can_log", "Superset"),  # the frontend posts usage events; without it every page logs a 500
}

log = logging.getLogger("bootstrap")


class BundleError(Exception):
    pass


def read_bundle(bundle: Path, serving: Path) -> dict[str, str]:
    """The bundle as {relative path: YAML text}, database URIs templated to this instance."""
    contents: dict[str, str] = {}
    for path in sorted(bundle.rglob("*.yaml")):
        rel = path.relative_to(bundle).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel.startswith("databases/"):
            text = Template(text).substitute(SERVING_DB_PATH=str(serving))
            check_database_locked_down(rel, yaml.safe_load(text))
        contents[rel] = text
    if "metadata.yaml" not in contents:
        raise BundleError(f"{bundle}: no metadata.yaml (not an import bundle)")
    return contents


def check_database_locked_down(name: str, config: dict) -> None:
    problems = [f"{k} must be {v}" for k, v in REQUIRED_DATABASE_FLAGS.items() if config.get(k) is not v]
    connect_args = config.get("extra", {}).get("engine_params", {}).get("connect_args", {})
    problems += [
        f"connect_args.{k} must be {v}"
        for k, v in REQUIRED_CONNECT_ARGS.items()
        if connect_args.get(k) is not v
    ]
    duck = connect_args.get("config", {})
    problems += [f"config.{k} must be {v}" for k, v in REQUIRED_DUCKDB_CONFIG.items() if duck.get(k) is not v]
    if "?" in config.get("sqlalchemy_uri", ""):
        problems.append("sqlalchemy_uri must not carry query parameters (they become DuckDB settings)")
    if problems:
        raise BundleError(f"{name}: refusing to import a loosened connection: " + "; ".join(problems))


def sqlite_metadata_path() -> Path | None:
    """The metadata file when it is SQLite (the embedded instance), resolved like superset_config.py."""
    uri = os.environ.get("SUPERSET_METADATA_DB_URI") or ""
    if uri:
        return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None
    return Path(os.environ.get("SUPERSET_HOME", Path.home() / ".superset")) / "superset.db"


def schema_cache_file(cache_dir: Path) -> Path:
    from importlib.metadata import version

    return cache_dir / f"superset-{version('apache-superset')}-initialised.db"


def reuse_cached_schema(cache_dir: Path | None) -> bool:
    """A fresh SQLite metadata DB starts as a copy of a pristine upgraded + initialised one.

    Migrations and `superset init` are the same for every instance of one Superset version and
    take most of a first start; the copy holds no users, databases or secrets.
    """
    target = sqlite_metadata_path()
    if cache_dir is None or target is None or target.exists():
        return False
    cached = schema_cache_file(cache_dir)
    if not cached.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target)
    log.info("bootstrap: metadata schema copied from %s", cached)
    return True


def store_schema_cache(cache_dir: Path | None) -> None:
    from superset import db

    target = sqlite_metadata_path()
    if cache_dir is None or target is None:
        return
    db.session.commit()
    db.engine.dispose()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    # SQLite's backup API, not a file copy: the metadata runs in WAL mode (superset_config.py), so
    # recent commits may still sit in superset.db-wal.
    source, copy = sqlite3.connect(target), sqlite3.connect(tmp)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    os.replace(tmp, schema_cache_file(cache_dir))


def init_metadata() -> None:
    from flask_migrate import upgrade
    from superset import appbuilder, security_manager

    upgrade()
    appbuilder.add_permissions(update_perms=True)
    security_manager.sync_role_definitions()


def import_bundle(contents: dict[str, str], sync_columns: bool = False) -> list:
    from superset import db, security_manager
    from superset.commands.exceptions import CommandInvalidError
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.connectors.sqla.models import SqlaTable
    from superset.models.core import Database

    command = ImportAssetsCommand(contents)
    try:
        command.validate()
    except CommandInvalidError as e:  # the generic "Import failed" hides which file and key
        raise BundleError(
            f"invalid bundle: {json.dumps(e.normalized_messages(), ensure_ascii=False)[:4000]}"
        ) from e
    started = time.monotonic()
    command.run()
    log.info("bootstrap: assets imported in %.1f s", time.monotonic() - started)
    started = time.monotonic()

    def uuids(prefix: str) -> list[str]:
        return [yaml.safe_load(t)["uuid"] for p, t in contents.items() if p.startswith(prefix)]

    databases = db.session.query(Database).filter(Database.uuid.in_(uuids("databases/"))).all()
    for database in databases:
        security_manager.add_permission_view_menu("database_access", database.perm)
    if sync_columns:
        # Column types (and columns added to a mart later) from the serving file itself. A mart
        # missing from it is reported, not fatal: the other dashboards stay usable.
        for dataset in db.session.query(SqlaTable).filter(SqlaTable.uuid.in_(uuids("datasets/"))):
            try:
                dataset.fetch_metadata()
            except Exception as e:  # noqa: BLE001 - Superset raises driver-specific errors here
                log.warning(
                    "bootstrap: WARNING %s.%s not synced: %s",
                    dataset.schema,
                    dataset.table_name,
                    str(e)[:200],
                )
    db.session.commit()
    if sync_columns:
        log.info("bootstrap: dataset columns synced in %.1f s", time.monotonic() - started)
    return databases


def sync_roles(databases: list) -> None:
    from superset import db
    from superset import security_manager as sm

    pvms = sm._get_all_pvms()
    data_access = [sm.find_permission_view_menu("database_access", d.perm) for d in databases]

    def is_executive(pvm) -> bool:
        key = (pvm.permission.name, pvm.view_menu.name)
        return sm._is_public_pvm(pvm) or sm._is_accessible_to_all(pvm) or key in EXECUTIVE_EXTRA_PERMISSIONS

    def is_analyst(pvm) -> bool:
        return sm._is_gamma_pvm(pvm) or sm._is_sql_lab_pvm(pvm)

    for name, check in (("Executive", is_executive), ("Analyst", is_analyst)):
        role = sm.add_role(name)
        role.permissions = [p for p in pvms if check(p)] + [p for p in data_access if p]
    db.session.commit()


def password_for(secrets: Path | None, username: str) -> str:
    """SUPERSET_<USER>_PASSWORD (docker env file) or <secrets>/superset_<user>.password (callcenter serve)."""
    value = os.environ.get(f"SUPERSET_{username.upper()}_PASSWORD", "")
    if not value and secrets is not None:
        value = (secrets / f"superset_{username}.password").read_text().strip()
    if len(value) < 12 or value == "CHANGE_ME":
        raise BundleError(
            f"no usable password for {username} (at least 12 characters, from env or secret file)"
        )
    return value


def sync_users(secrets: Path | None) -> None:
    from superset import db
    from superset import security_manager as sm

    for username, role_name, first, last in USERS:
        password = password_for(secrets, username)
        role = sm.find_role(role_name)
        user = sm.find_user(username=username)
        if user is None:
            sm.add_user(username, first, last, f"{username}@callcenter.invalid", [role], password=password)
        else:  # the secret file is the source of truth: keep role and password in step with it
            user.roles = [role]
            sm.reset_password(user.id, password)
    db.session.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--serving", type=Path, required=True)
    parser.add_argument("--secrets", type=Path, help="folder with superset_<user>.password files (else env)")
    parser.add_argument(
        "--init", action="store_true", help="upgrade the metadata schema and sync built-in roles"
    )
    parser.add_argument(
        "--schema-cache",
        type=Path,
        help="folder for a pristine initialised SQLite metadata DB, reused by fresh instances",
    )
    parser.add_argument(
        "--sync-columns",
        action="store_true",
        help="also refresh dataset columns from the serving file (the bundle declares them; ~1 s per dataset)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    try:
        contents = read_bundle(args.bundle, args.serving.resolve())
    except (BundleError, KeyError, ValueError) as e:
        print(f"bootstrap: {e}", file=sys.stderr)
        return 2

    if args.init and reuse_cached_schema(args.schema_cache):
        args.init = False

    from flask import g
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import security_manager

        if args.init:
            log.info("bootstrap: metadata upgrade + init")
            init_metadata()
            store_schema_cache(args.schema_cache)
        try:
            if security_manager.find_user(username="admin") is None:  # first run: the importer needs an owner
                sync_users_admin_only(args.secrets)
            g.user = security_manager.find_user(username="admin")
            log.info("bootstrap: importing %d bundle files", len(contents))
            databases = import_bundle(contents, args.sync_columns)
            sync_roles(databases)
            sync_users(args.secrets)
        except BundleError as e:
            print(f"bootstrap: {e}", file=sys.stderr)
            return 2
        print(json.dumps({"databases": [d.database_name for d in databases], "files": len(contents)}))
    return 0


def sync_users_admin_only(secrets: Path | None) -> None:
    from superset import db
    from superset import security_manager as sm

    password = password_for(secrets, "admin")
    sm.add_user(
        "admin", "Superset", "Admin", "admin@callcenter.invalid", [sm.find_role("Admin")], password=password
    )
    db.session.commit()


if __name__ == "__main__":
    raise SystemExit(main())
