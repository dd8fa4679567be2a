"""The DuckDB lockdown itself, independent of Superset's SQL parsing (which only catches some attacks).

superset_config.DB_CONNECTION_MUTATOR decides the arguments of every DuckDB connection Superset
opens; here those arguments open the serving file directly and every file/extension escape fails
in DuckDB, including the ones Superset's function blocklist cannot see (replacement scans).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pytest
from dash_serving_fixture import build_serving_fixture
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def superset_config(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SUPERSET_SECRET_KEY", "test-only-not-a-deployment-key-0123456789")
    mp.setenv("SUPERSET_HOME", str(tmp_path_factory.mktemp("home")))
    spec = importlib.util.spec_from_file_location(
        "superset_config_under_test", REPO / "dashboards/superset/superset_config.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    mp.undo()


@pytest.fixture(scope="module")
def locked_connection(superset_config, tmp_path_factory):
    serving = build_serving_fixture(tmp_path_factory.mktemp("lockdown") / "serving.duckdb")
    # A database whose stored settings were loosened in the UI: read-write, external access on,
    # a URL parameter and a preloaded extension. The mutator must win over all of it.
    url = make_url(f"duckdb:///{serving}?enable_external_access=true")
    params = {
        "connect_args": {
            "read_only": False,
            "preload_extensions": ["httpfs"],
            "config": {"enable_external_access": True, "lock_configuration": False},
        }
    }
    url, params = superset_config.DB_CONNECTION_MUTATOR(url, params, "analyst", None, None)
    assert dict(url.query) == {}
    args = params["connect_args"]
    assert set(args) == {"read_only", "config"}
    con = duckdb.connect(url.database, read_only=args["read_only"], config=args["config"])
    yield con
    con.close()


def test_marts_are_readable(locked_connection):
    assert locked_connection.execute("select count(*) from marts.agg_center_daily").fetchone()[0] == 14


@pytest.mark.parametrize(
    "attack",
    [
        "select * from read_text('/etc/passwd')",
        "from '/etc/passwd'",
        "select * from read_csv('/etc/passwd')",
        "select * from glob('/etc/*')",
        "copy (select 1) to '/tmp/callcenter_lockdown_probe.csv'",
        "attach '/tmp/callcenter_lockdown_probe.duckdb' as probe",
        "install httpfs",
        "load httpfs",
        "set enable_external_access = true",
        "set lock_configuration = false",
        "create table marts.probe as select 1",
        "delete from marts.agg_center_daily",
    ],
)
def test_file_extension_and_write_escapes_fail(locked_connection, attack):
    with pytest.raises(duckdb.Error):
        locked_connection.execute(attack).fetchall()
    assert not Path("/tmp/callcenter_lockdown_probe.csv").exists()


def test_settings_are_in_force(locked_connection):
    rows = dict(
        locked_connection.execute(
            "select name, value from duckdb_settings() where name in ('enable_external_access', "
            "'lock_configuration', 'autoinstall_known_extensions', 'autoload_known_extensions')"
        ).fetchall()
    )
    assert rows == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }


def test_other_engines_are_left_alone(superset_config):
    url = make_url("postgresql://u@h/db?sslmode=require")
    params = {"connect_args": {"x": 1}}
    assert superset_config.DB_CONNECTION_MUTATOR(url, params, "u", None, None) == (url, params)


def test_config_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SUPERSET_SECRET_KEY", raising=False)
    spec = importlib.util.spec_from_file_location(
        "superset_config_nokey", REPO / "dashboards/superset/superset_config.py"
    )
    with pytest.raises(KeyError, match="SUPERSET_SECRET_KEY"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
