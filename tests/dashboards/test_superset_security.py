"""A real Superset (started by `callcenter serve`): secrets, roles, SQL Lab lockdown, idempotent re-import."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
import requests
import yaml

from dashboards.superset import bootstrap

pytestmark = pytest.mark.superset

REPO = Path(__file__).resolve().parents[2]
BOOTSTRAP = REPO / "dashboards" / "superset" / "bootstrap.py"
SUPERSET_PYTHON = REPO / ".venv-superset" / "bin" / "python"
ATTACKS = [
    "SELECT * FROM read_text('/etc/passwd')",
    "FROM '/etc/passwd'",
    "COPY (SELECT 1) TO '/tmp/x.csv'",
    "ATTACH '/tmp/callcenter_probe.duckdb' AS probe",
    "INSTALL httpfs",
    "SET enable_external_access=true",
]


def login(superset, username: str, *, csrf: bool = True) -> requests.Session:
    s = requests.Session()
    r = s.post(
        f"{superset.url}/api/v1/security/login",
        json={
            "username": username,
            "password": superset.passwords[username],
            "provider": "db",
            "refresh": True,
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    s.headers["Authorization"] = "Bearer " + r.json()["access_token"]
    s.headers["Referer"] = superset.url
    if csrf:
        s.headers["X-CSRFToken"] = s.get(f"{superset.url}/api/v1/security/csrf_token/", timeout=30).json()[
            "result"
        ]
    return s


def serving_db_id(session: requests.Session, superset) -> int:
    result = session.get(f"{superset.url}/api/v1/database/", timeout=30).json()["result"]
    return next(d["id"] for d in result if d["database_name"] == "serving")


def run_sql(session, superset, sql: str) -> requests.Response:
    payload = {
        "database_id": serving_db_id(session, superset),
        "sql": sql,
        "schema": "marts",
        "runAsync": False,
    }
    return session.post(f"{superset.url}/api/v1/sqllab/execute/", json=payload, timeout=60)


def assert_attacks_fail(superset) -> None:
    analyst = login(superset, "analyst")
    ok = run_sql(analyst, superset, "select sum(offered) as offered from marts.agg_center_daily")
    assert ok.status_code == 200, ok.text
    assert (
        ok.json()["data"][0]["offered"]
        == superset.query("select sum(offered) from marts.agg_center_daily")[0][0]
    )
    for sql in ATTACKS:
        r = run_sql(analyst, superset, sql)
        assert r.status_code >= 400 and r.json().get("status") != "success", (
            f"{sql!r} succeeded: {r.text[:300]}"
        )
        assert "root:" not in r.text


def test_secrets_are_generated_private_and_listed(superset):
    secrets_dir = superset.data_dir / "secrets"
    files = sorted(p.name for p in secrets_dir.iterdir() if p.name.startswith("superset_"))
    assert files == [
        "superset_admin.password",
        "superset_analyst.password",
        "superset_executive.password",
        "superset_secret_key",
        "superset_users.txt",
    ]
    for p in secrets_dir.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert set(superset.passwords) == {"admin", "analyst", "executive"}
    assert len(set(superset.passwords.values())) == 3 and min(map(len, superset.passwords.values())) >= 16
    key = (secrets_dir / "superset_secret_key").read_text()
    assert len(key) >= 40 and key not in (REPO / "dashboards" / "superset" / "superset_config.py").read_text()


def test_no_default_credentials(superset):
    r = requests.post(
        f"{superset.url}/api/v1/security/login",
        json={"username": "admin", "password": "admin", "provider": "db"},
        timeout=30,
    )
    assert r.status_code == 401


def test_security_headers(superset):
    r = requests.get(f"{superset.url}/login/", timeout=30)
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_analyst_sql_lab_is_read_only_and_cannot_touch_files(superset):
    assert_attacks_fail(superset)
    analyst = login(superset, "analyst")
    for sql in ("create table marts.probe as select 1", "delete from marts.agg_center_daily"):
        r = run_sql(analyst, superset, sql)
        assert r.status_code >= 400, sql


def test_executive_sees_dashboards_but_has_no_sql_lab(superset):
    executive = login(superset, "executive", csrf=False)
    dashboards = executive.get(f"{superset.url}/api/v1/dashboard/", timeout=30).json()
    assert {d["slug"] for d in dashboards["result"]} >= {
        "executive_overview",
        "service_level",
        "agent_performance",
        "customer_experience",
        "stress_survey",
        "data_quality",
    }
    roles = executive.get(f"{superset.url}/api/v1/me/roles/", timeout=30).json()["result"]["roles"]
    permissions = {tuple(p) for perms in roles.values() for p in perms}
    assert set(roles) == {"Executive"}
    sql_lab = {
        p
        for p in permissions
        if p[1] in ("SQLLab", "SQL Lab", "SQL Editor") or p[0] in ("can_sqllab", "can_execute_sql_query")
    }
    writes = {
        p
        for p in permissions
        if p[0] == "can_write" and p[1] in ("Dashboard", "Chart", "Dataset", "Database")
    }
    assert sql_lab == set() and writes == set()
    assert executive.get(f"{superset.url}/api/v1/database/", timeout=30).status_code == 403
    r = executive.post(
        f"{superset.url}/api/v1/sqllab/execute/", json={"database_id": 1, "sql": "select 1"}, timeout=30
    )
    assert r.status_code in (400, 401, 403) and "success" not in r.text


def extra_of(session, superset, db_id: int) -> dict:
    extra = session.get(f"{superset.url}/api/v1/database/{db_id}/connection", timeout=30).json()["result"][
        "extra"
    ]
    return json.loads(extra) if isinstance(extra, str) else extra


def counts(admin, superset) -> dict[str, int]:
    return {
        kind: admin.get(f"{superset.url}/api/v1/{kind}/?q=(page_size:1)", timeout=30).json()["count"]
        for kind in ("dashboard", "chart", "dataset", "database")
    }


def test_reimport_updates_in_place_and_does_not_loosen_the_connection(superset, tmp_path: Path):
    admin = login(superset, "admin")
    before = counts(admin, superset)
    db_id = serving_db_id(admin, superset)
    extra_before = extra_of(admin, superset, db_id)
    bundle_charts = sum(1 for _ in (REPO / "dashboards" / "bundle" / "charts").rglob("*.yaml"))
    assert before["dashboard"] == 6 and before["chart"] == bundle_charts and before["database"] == 1

    # An edited title in a copy of the bundle: re-import must update, not duplicate.
    bundle = tmp_path / "bundle"
    for p in (REPO / "dashboards" / "bundle").rglob("*.yaml"):
        (bundle / p.relative_to(REPO / "dashboards" / "bundle")).parent.mkdir(parents=True, exist_ok=True)
        (bundle / p.relative_to(REPO / "dashboards" / "bundle")).write_text(p.read_text())
    dash_file = bundle / "dashboards" / "data_quality.yaml"
    dash = yaml.safe_load(dash_file.read_text())
    dash["dashboard_title"] = "数据质量 Data quality (re-imported)"
    dash_file.write_text(yaml.safe_dump(dash, allow_unicode=True))
    cmd = [str(SUPERSET_PYTHON), str(BOOTSTRAP), "--bundle", str(bundle), "--serving", str(superset.serving)]
    cmd += ["--secrets", str(superset.data_dir / "secrets")]
    done = subprocess.run(
        cmd, env=superset.env(), capture_output=True, text=True, timeout=300, cwd=superset.data_dir
    )
    assert done.returncode == 0, done.stderr[-2000:]

    assert counts(admin, superset) == before
    titles = {
        d["slug"]: d["dashboard_title"]
        for d in admin.get(f"{superset.url}/api/v1/dashboard/", timeout=30).json()["result"]
    }
    assert titles["data_quality"] == "数据质量 Data quality (re-imported)"
    database = admin.get(f"{superset.url}/api/v1/database/{db_id}/connection", timeout=30).json()["result"]
    assert extra_of(admin, superset, db_id) == extra_before
    assert (
        database["allow_dml"],
        database["allow_file_upload"],
        database["allow_ctas"],
        database["allow_cvas"],
    ) == (
        False,
        False,
        False,
        False,
    )
    assert_attacks_fail(superset)

    # A bundle whose database was loosened is refused before anything is written.
    db_file = bundle / "databases" / "serving.yaml"
    config = yaml.safe_load(db_file.read_text())
    config["extra"]["engine_params"]["connect_args"]["config"]["enable_external_access"] = True
    db_file.write_text(yaml.safe_dump(config))
    refused = subprocess.run(
        cmd, env=superset.env(), capture_output=True, text=True, timeout=120, cwd=superset.data_dir
    )
    assert refused.returncode == 2 and "loosened" in refused.stderr
    assert_attacks_fail(superset)


def bundle_zip(contents: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in contents.items():
            z.writestr(f"bundle/{name}", text)
    return buffer.getvalue()


def test_even_a_loosened_import_through_the_api_cannot_open_files(superset):
    """The REST import trusts the bundle's extras; the connection-time lockdown still holds."""
    contents = bootstrap.read_bundle(REPO / "dashboards" / "bundle", superset.serving)
    loosened = yaml.safe_load(contents["databases/serving.yaml"])
    loosened["extra"]["engine_params"]["connect_args"] = {
        "read_only": False,
        "config": {"enable_external_access": True},
    }
    loosened["allow_dml"] = True
    admin = login(superset, "admin")
    r = admin.post(
        f"{superset.url}/api/v1/assets/import/",
        files={
            "bundle": (
                "bundle.zip",
                bundle_zip({**contents, "databases/serving.yaml": yaml.safe_dump(loosened)}),
            )
        },
        timeout=120,
    )
    assert r.status_code == 200, r.text
    db_id = serving_db_id(admin, superset)
    stored = extra_of(admin, superset, db_id)
    assert (
        stored["engine_params"]["connect_args"]["config"]["enable_external_access"] is True
    )  # the import did loosen it
    try:
        for sql in ATTACKS:
            r = run_sql(admin, superset, sql)  # even the admin, on a database marked DML-allowed
            assert r.status_code >= 400 and "root:" not in r.text, f"{sql!r}: {r.text[:300]}"
    finally:
        restored = admin.post(
            f"{superset.url}/api/v1/assets/import/",
            files={"bundle": ("bundle.zip", bundle_zip(contents))},
            timeout=120,
        )
        assert restored.status_code == 200, restored.text
