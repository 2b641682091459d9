"""compose/docker-compose.yml is a valid Compose file, checked by Compose itself (`docker-compose
config`, Debian's package, or `docker compose config`; no Docker engine needed), with the services
the product documents: Dagster as `dagster-webserver` + `dagster-daemon` sharing one instance,
Marquez, its web UI, Postgres and MinIO for the S3 sensor, on the documented ports."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from lakehouse_core.settings import REPO_ROOT
from tests.marquez_fixture import in_ci

COMPOSE_FILE = REPO_ROOT / "compose" / "docker-compose.yml"
SECRETS = {
    "LAKEHOUSE_PG_PASSWORD": "pg-secret",
    "MARQUEZ_DB_PASSWORD": "mq-secret",
    "MINIO_ROOT_PASSWORD": "minio-secret",
}


def _compose() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    message = "no `docker-compose` (Debian: apt-get install docker-compose; .ci/run installs it)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _config(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*_compose(), "-f", str(COMPOSE_FILE), "config"],
        cwd=COMPOSE_FILE.parent, env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def config() -> dict:
    done = _config(SECRETS)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_dagster_runs_as_webserver_and_daemon_sharing_one_instance(config):
    services = config["services"]
    assert "dagster" not in services
    web, daemon = services["dagster-webserver"], services["dagster-daemon"]
    assert web["command"][0] == "dagster-webserver" and "orchestration.definitions" in web["command"]
    assert daemon["command"][:2] == ["dagster-daemon", "run"] and "orchestration.definitions" in daemon["command"]
    assert web["image"] == daemon["image"]
    for key in ("DAGSTER_HOME", "LAKEHOUSE_PG_URL", "LAKEHOUSE_PG_PASSWORD", "LAKEHOUSE_DATA_DIR", "MARQUEZ_URL"):
        assert web["environment"][key] == daemon["environment"][key], key
    assert web["environment"]["MARQUEZ_URL"] == "http://marquez:5555"
    assert "pg-secret" in web["environment"]["LAKEHOUSE_PG_URL"]
    published = (
        {str(p.get("published")) for p in web["ports"]}
        if isinstance(web["ports"][0], dict)
        else {str(p).split(":")[0] for p in web["ports"]}
    )
    assert published == {"3000"}
    assert "dagster-webserver" in daemon["depends_on"]
    # The outbox the runs write on /data is delivered to Marquez by a loop of its own.
    delivery = services["lineage-delivery"]
    assert delivery["command"] == ["lineage", "deliver", "--follow"]
    assert delivery["environment"]["MARQUEZ_URL"] == "http://marquez:5555"
    assert delivery["environment"]["LAKEHOUSE_DATA_DIR"] == daemon["environment"]["LAKEHOUSE_DATA_DIR"]


def test_minio_is_the_s3_sensors_endpoint(config):
    services = config["services"]
    assert "minio" in services
    env = services["dagster-daemon"]["environment"]
    assert env["AWS_S3_ENDPOINT"] == "http://minio:9000"
    assert env["LAKEHOUSE_S3_BUCKET"]
    assert env["AWS_SECRET_ACCESS_KEY"] == services["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == "minio-secret"
    assert "marquez" in services and "marquez-web" in services and "postgres" in services


def test_secrets_are_required_not_defaulted():
    for missing in SECRETS:
        done = _config({k: v for k, v in SECRETS.items() if k != missing})
        assert done.returncode != 0, missing
        assert missing in done.stderr, done.stderr


def test_the_image_has_every_package_and_the_entrypoint():
    dockerfile = (REPO_ROOT / "compose" / "Dockerfile").read_text()
    packages = yaml.safe_load("[" + _pyproject_packages() + "]")
    for package in packages:
        assert f"COPY {package} {package}" in dockerfile, package
    assert "dagster-entrypoint" in dockerfile
    assert (REPO_ROOT / "compose" / "dagster-entrypoint.sh").stat().st_mode & 0o111


def _pyproject_packages() -> str:
    for line in (REPO_ROOT / "pyproject.toml").read_text().splitlines():
        if line.strip().startswith("packages = ["):
            return line.split("[", 1)[1].rsplit("]", 1)[0]
    raise AssertionError("no packages line in pyproject.toml")


REPLICAS_FILE = REPO_ROOT / "compose" / "marquez-replicas.yml"


def test_the_scale_out_example_runs_two_replicas_on_one_postgres_behind_the_proxy():
    """compose/marquez-replicas.yml: the built-in server twice (each with its projector) on one
    database, nginx in front with the config tests/marquez/test_scale_out.py runs for real."""
    done = subprocess.run(
        [*_compose(), "-f", str(REPLICAS_FILE), "config"],
        cwd=REPLICAS_FILE.parent, env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", **SECRETS},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    first, second, proxy = services["marquez-1"], services["marquez-2"], services["marquez-proxy"]
    for replica in (first, second):
        assert replica["entrypoint"][:4] == ["python", "-m", "marquez", "serve"]
        assert "mq-secret" in replica["environment"]["MARQUEZ_DB_URL"]
        assert "marquez-proxy" in replica["environment"]["MARQUEZ_ALLOWED_HOSTS"].split(",")
    assert first["environment"]["MARQUEZ_DB_URL"] == second["environment"]["MARQUEZ_DB_URL"]
    assert set(proxy["depends_on"]) == {"marquez-1", "marquez-2"}
    mount = next(v for v in proxy["volumes"] if "nginx.conf" in str(v))
    source = mount["source"] if isinstance(mount, dict) else str(mount).split(":")[0]
    conf = (REPLICAS_FILE.parent / "marquez-proxy" / "nginx.conf").read_text()
    assert source.endswith("marquez-proxy/nginx.conf")
    assert "server marquez-1:5000" in conf and "server marquez-2:5000" in conf
    missing = subprocess.run(
        [*_compose(), "-f", str(REPLICAS_FILE), "config"],
        cwd=REPLICAS_FILE.parent, env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode != 0 and "MARQUEZ_DB_PASSWORD" in missing.stderr
