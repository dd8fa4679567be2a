"""docker-compose.yml without a Docker engine: compose-spec schema + every referenced file/service exists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_spec_schema():
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    done = subprocess.run(
        [exe, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_required_services_and_dependencies(compose):
    services = compose["services"]
    assert {"postgres", "redis", "superset", "superset-init", "dagster-webserver", "dagster-daemon"} <= set(
        services
    )
    for name, service in services.items():
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on undefined {dep}"
        for net in service.get("networks", []):
            assert net in compose["networks"], f"{name}: undefined network {net}"
    assert "gunicorn" in (REPO / "dashboards" / "superset" / "Dockerfile").read_text()


def test_every_referenced_file_exists(compose):
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            context = REPO / build["context"]
            assert context.is_dir(), name
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: {dockerfile}"
            for line in dockerfile.read_text().splitlines():
                if line.startswith("COPY "):
                    for src in line.split()[1:-1]:
                        assert (context / src).exists(), f"{dockerfile.name}: COPY {src} does not exist"
        for env_file in service.get("env_file", []):
            path = REPO / (env_file["path"] if isinstance(env_file, dict) else env_file)
            # the real env file holds secrets and is never committed: its template must be
            example = path.with_name(path.name + ".example")
            assert example.is_file(), f"{name}: no {example.relative_to(REPO)}"
            assert "CHANGE_ME" in example.read_text()
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert (REPO / volume["source"]).exists(), f"{name}: bind source {volume['source']}"
            else:
                assert volume["source"] in compose["volumes"], f"{name}: undefined volume {volume['source']}"
    init = compose["services"]["superset-init"]["command"][0]
    assert (REPO / init.removeprefix("/app/")).is_file()


def test_superset_gets_only_the_serving_snapshot_read_only(compose):
    for name in ("superset", "superset-init"):
        volumes = compose["services"][name]["volumes"]
        assert volumes == [{"type": "volume", "source": "serving", "target": "/serving", "read_only": True}]
        assert compose["services"][name]["environment"]["SUPERSET_SERVING_DB"] == "/serving/serving.duckdb"
    dagster_targets = {v["target"] for v in compose["services"]["dagster-webserver"]["volumes"]}
    assert "/data/serving" in dagster_targets  # the publisher's os.replace stays on one filesystem


def test_no_secret_values_committed():
    gitignore = (REPO / ".gitignore").read_text()
    for example in (REPO / "deploy" / "env").glob("*.env.example"):
        for line in example.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                if any(w in key for w in ("PASSWORD", "SECRET", "KEY")):
                    assert value in ("CHANGE_ME", "") or "CHANGE_ME" in value, f"{example.name}: {key}"
    assert "deploy/env/*.env" in gitignore
