"""Superset configuration for the contact-center stack (Superset 6.1).

Everything instance-specific comes from the environment, so the same file serves the embedded
`callcenter serve` (SQLite metadata under <data-dir>/superset/) and the docker-compose deployment
(Postgres metadata, Redis cache). No secret has a default: the process refuses to start without
SUPERSET_SECRET_KEY.

The DuckDB lockdown is enforced here, at connection time, for every DuckDB engine Superset creates
(DB_CONNECTION_MUTATOR), so neither an edited database in the UI nor a re-imported bundle can
loosen it: read-only, no external (file/network) access, no extension auto-install/auto-load,
configuration locked so SQL Lab cannot SET it back.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.engine import Engine

try:  # Superset's environment; the DuckDB lockdown unit tests load this file in the pipeline venv
    from flask import g, has_request_context
    from superset.config import THEME_DARK as _SUPERSET_THEME_DARK
    from superset.config import THEME_DEFAULT as _SUPERSET_THEME_DEFAULT
    from superset.security import SupersetSecurityManager
    from superset.utils.log import DBEventLogger
except ModuleNotFoundError:
    SupersetSecurityManager = None

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]  # fail fast: never a default key (CVE-2023-27524)
if len(SECRET_KEY) < 32 or "CHANGE_ME" in SECRET_KEY:
    raise RuntimeError("SUPERSET_SECRET_KEY must be a random value of at least 32 characters")
PREVIOUS_SECRET_KEY = os.environ.get("SUPERSET_PREVIOUS_SECRET_KEY") or None

_HOME = os.environ.get("SUPERSET_HOME", os.path.expanduser("~/.superset"))
SQLALCHEMY_DATABASE_URI = os.environ.get("SUPERSET_METADATA_DB_URI") or f"sqlite:///{_HOME}/superset.db"
_SQLITE_METADATA = (
    os.path.realpath(SQLALCHEMY_DATABASE_URI.removeprefix("sqlite:///"))
    if SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    else None
)


@event.listens_for(Engine, "connect")
def _sqlite_metadata_pragmas(dbapi_connection, _connection_record) -> None:
    """The embedded instance's SQLite metadata in WAL mode, committed without fsync.

    Every API request writes an event-log row and reads permissions; in SQLite's default rollback
    journal a commit blocks all readers and fsyncs, so a dashboard's parallel chart requests queued
    behind each other's log writes. WAL lets readers run during a write; synchronous=NORMAL is
    WAL's documented safe setting (a power cut can lose the last commits, never corrupt). DuckDB and
    Postgres connections are untouched; Superset refuses SQLite as a data source.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection) or _SQLITE_METADATA is None:
        return
    cursor = dbapi_connection.cursor()
    try:
        files = {os.path.realpath(row[2]) for row in cursor.execute("pragma database_list") if row[2]}
        if _SQLITE_METADATA in files:  # only Superset's own metadata file, whoever else uses SQLAlchemy
            # persistent once set; switching needs a moment alone with the file, so a connection
            # that meets a busy file (a second worker starting) leaves it to the next connection
            (mode,) = cursor.execute("pragma journal_mode=wal").fetchone()
            if mode == "wal":  # NORMAL is safe in WAL mode only
                cursor.execute("pragma synchronous=normal")
    except sqlite3.OperationalError:
        pass
    finally:
        cursor.close()


# --- interface: Chinese and English ------------------------------------------------------------
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "us", "name": "English"},
}
BABEL_DEFAULT_LOCALE = os.environ.get("SUPERSET_DEFAULT_LOCALE", "zh")
APP_NAME = "呼叫中心 Contact Center"

# --- sessions, CSRF, headers -------------------------------------------------------------------
WTF_CSRF_ENABLED = True
TALISMAN_ENABLED = True  # the docs disagree on the default: set it explicitly
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# HTTPS terminates at the reverse proxy in production; the embedded demo is plain http on 127.0.0.1.
SESSION_COOKIE_SECURE = os.environ.get("SUPERSET_COOKIE_SECURE", "false").lower() == "true"
PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
PUBLIC_ROLE_LIKE = None
AUTH_USER_REGISTRATION = False

FEATURE_FLAGS = {
    "ENABLE_TEMPLATE_PROCESSING": False,  # no Jinja in SQL Lab: one less injection surface
    "DASHBOARD_RBAC": True,
    "RLS_IN_SQLLAB": True,
    "ALERT_REPORTS": False,
    "THUMBNAILS": False,
    # Every chart of a dashboard is drawn when it opens, not when scrolled into view: issue 8's
    # "renders all charts" budget is judged on a normal screen (1920x1080) and counts every chart
    # (docs/dashboards.md, "Render time"). Our dashboards have 6-16 charts; virtualization pays
    # off on far longer ones.
    "DASHBOARD_VIRTUALIZATION": False,
}

if SupersetSecurityManager is not None:

    class RequestMemoSecurityManager(SupersetSecurityManager):
        """Superset's security manager, answering a repeated permission question once per request.

        One cached chart-data request asks "all_database_access?", "all_datasource_access?", the
        database's and schema's access and the user's datasource grants several times over (chart
        lookup filter, query-context checks, RLS), each a query on the metadata database: about a
        quarter of the request's CPU. The answers are kept in flask.g, so they live for one request
        only; the next request (and any role change) asks the database again.
        """

        def _has_view_access(self, user, permission_name: str, view_name: str) -> bool:
            if not has_request_context():
                return super()._has_view_access(user, permission_name, view_name)
            memo = g.__dict__.setdefault("_callcenter_view_access", {})
            key = (getattr(user, "id", None), permission_name, view_name)
            if key not in memo:
                memo[key] = super()._has_view_access(user, permission_name, view_name)
            return memo[key]

        def user_view_menu_names(self, permission_name: str) -> set[str]:
            if not has_request_context():
                return super().user_view_menu_names(permission_name)
            memo = g.__dict__.setdefault("_callcenter_view_menu_names", {})
            key = (getattr(g.user, "id", None), permission_name)
            if key not in memo:
                memo[key] = frozenset(super().user_view_menu_names(permission_name))
            return set(memo[key])  # a copy: callers may change it

    CUSTOM_SECURITY_MANAGER = RequestMemoSecurityManager

    class AuditEventLogger(DBEventLogger):
        """Superset's database event log without the timing sub-spans of a request.

        A cached chart-data request wrote three rows with three commits: "ChartDataRestApi.data"
        (who read which chart of which dashboard, kept), "_get_data_response" (the same request's
        inner method, same payload again) and "ChartDataRestApi.json_dumps" (how long encoding the
        answer took). The inner spans name no user action and no object the request's own row does
        not; dropping them takes two inserts + commits and two collections of the request's
        context off every chart-data request. Every other row is kept: dashboard and chart API
        reads, chart-data reads, SQL Lab executions (execute_sql), the frontend's events
        (DECISIONLOG.md).
        """

        INNER_SPANS = ("_get_data_response", ".json_dumps", ".post_processing")

        def log_with_context(self, action: str, *args, **kwargs) -> None:
            if action.endswith(self.INNER_SPANS):
                return
            super().log_with_context(action, *args, **kwargs)

    EVENT_LOGGER = AuditEventLogger()

    # ECharts draws every chart at once instead of animating it in for a second: the animation
    # repaints each chart ~60 times while the rest of the dashboard is still loading, which costs
    # the browser CPU and changes nothing that is shown once it ends. Superset merges the theme's
    # echartsOptionsOverrides into every ECharts chart's options (Big Number trend lines too).
    _NO_ANIMATION = {"echartsOptionsOverrides": {"animation": False}}
    THEME_DEFAULT = {**_SUPERSET_THEME_DEFAULT, **_NO_ANIMATION}
    THEME_DARK = {**_SUPERSET_THEME_DARK, **_NO_ANIMATION} if _SUPERSET_THEME_DARK else None

# --- cache: Redis in production, a shared file cache for the embedded instance ----------------
_REDIS_URL = os.environ.get("SUPERSET_REDIS_URL")
if _REDIS_URL:
    _cache = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": _REDIS_URL}
else:  # FileSystemCache is shared by all gunicorn workers, SimpleCache would not be
    _cache = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": os.path.join(_HOME, "cache")}
CACHE_CONFIG = {**_cache, "CACHE_DEFAULT_TIMEOUT": 300, "CACHE_KEY_PREFIX": "superset_"}
DATA_CACHE_CONFIG = {**_cache, "CACHE_DEFAULT_TIMEOUT": 600, "CACHE_KEY_PREFIX": "superset_data_"}
FILTER_STATE_CACHE_CONFIG = {**_cache, "CACHE_DEFAULT_TIMEOUT": 86400, "CACHE_KEY_PREFIX": "superset_filter_"}
EXPLORE_FORM_DATA_CACHE_CONFIG = {
    **_cache,
    "CACHE_DEFAULT_TIMEOUT": 86400,
    "CACHE_KEY_PREFIX": "superset_explore_",
}

# --- SQL Lab -----------------------------------------------------------------------------------
SQLLAB_TIMEOUT = 60
SQL_MAX_ROW = 100_000
SQLLAB_CTAS_NO_LIMIT = False
# A function blocklist cannot stop replacement scans (FROM '/etc/passwd'); the DuckDB lockdown
# below does. This is defence in depth and a clearer error message for the obvious attempts.
DISALLOWED_SQL_FUNCTIONS = {
    "duckdb": {
        "read_csv",
        "read_csv_auto",
        "read_text",
        "read_blob",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_ndjson",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "glob",
        "getenv",
        "sniff_csv",
    },
}

# --- DuckDB lockdown ---------------------------------------------------------------------------
# Startup options (duckdb.connect(config=...)); lock_configuration must come last in effect, and
# it does, because DuckDB applies startup options before any statement can run.
DUCKDB_LOCKDOWN = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "lock_configuration": True,
}
# connect_args duckdb-engine understands that would run code or open files after connect.
_DUCKDB_UNSAFE_CONNECT_ARGS = ("preload_extensions", "register_filesystems", "url_config")


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):  # noqa: N802
    """Force every DuckDB connection read-only and locked down, whatever the stored settings say."""
    if uri.drivername.split("+")[0] not in ("duckdb", "motherduck"):
        return uri, params
    # duckdb-engine applies URL query parameters as DuckDB settings *after* connect_args: drop them.
    uri = uri.set(query={})
    connect_args = dict(params.get("connect_args") or {})
    for key in _DUCKDB_UNSAFE_CONNECT_ARGS:
        connect_args.pop(key, None)
    config = dict(connect_args.get("config") or {})
    config.update(DUCKDB_LOCKDOWN)
    connect_args["config"] = config
    connect_args["read_only"] = True
    params = {**params, "connect_args": connect_args}
    return uri, params
