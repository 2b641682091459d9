"""Make a running Superset hold the dashboard of bi/dashboard.py, through its REST API; idempotent.

    python -m bi provision        # what `make bi` / `lakehouse up --bi` run once Superset answers

Log in as the admin (JWT), take a CSRF token, then create or update, each found again by its
name: the database connection (as the read-only BI role), the dataset (the mart, its columns
refreshed from Postgres), the dashboard (by slug), its charts, and the dashboard's layout.
Every call is one lineage run of `superset.provision` (bi/lineage.py): START, then COMPLETE
with the dataset's columns, or FAIL with the error; both go to the outbox.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from bi import dashboard
from bi.lineage import ProvisionRun
from lakehouse_core.settings import PostgresConnection, Settings
from lineage import naming


class ProvisionFailed(RuntimeError):
    """Superset refused a step; the message names it and quotes Superset's answer."""


@dataclass(frozen=True)
class Provisioned:
    database_id: int
    dataset_id: int
    dashboard_id: int
    chart_ids: dict[str, int]  # Chart.key -> id
    columns: list[tuple[str, str]]  # the dataset's columns as Superset sees them (name, type)
    dashboard_url: str
    lineage_emitted: bool


class SupersetApi:
    """A logged-in session to Superset's /api/v1 (JWT bearer plus the CSRF token and its cookie)."""

    def __init__(self, base_url: str, timeout_s: float = 120):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.trust_env = False  # Superset on this machine is never reached through a proxy

    def login(self, username: str, password: str) -> None:
        response = self.session.post(
            f"{self.base_url}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
            timeout=self.timeout_s,
        )
        if response.status_code != 200:
            raise ProvisionFailed(
                f"Superset login as {username!r} failed: {response.status_code} {response.text[:300]}"
            )
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        token = self.call("GET", "/security/csrf_token/")["result"]
        self.session.headers.update({"X-CSRFToken": token, "Referer": self.base_url})

    def call(self, method: str, path: str, body: dict | None = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        response = self.session.request(method, f"{self.base_url}/api/v1{path}", json=body, timeout=self.timeout_s)
        if response.status_code not in ok:
            raise ProvisionFailed(f"Superset {method} /api/v1{path}: {response.status_code} {response.text[:600]}")
        return response.json() if response.content else {}

    def find(self, resource: str, column: str, value: str) -> list[dict]:
        """Every `resource` whose `column` equals `value` (Superset's list filter, rison-encoded)."""
        query = f"(filters:!((col:{column},opr:eq,value:{_rison_string(value)})),page_size:100)"
        return self.call("GET", f"/{resource}/?q={quote(query, safe='')}")["result"]


def _rison_string(value: str) -> str:
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def sqlalchemy_uri(pg: PostgresConnection, user: str, password: str) -> str:
    return (
        f"postgresql+psycopg2://{quote(user, safe='')}:{quote(password, safe='')}@{pg.host}:{pg.port}/"
        f"{quote(pg.dbname, safe='')}"
    )


def base_url(settings: Settings) -> str:
    host = settings.superset_host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host
    return f"http://{host}:{settings.superset_port_number}"


def provision(
    settings: Settings, admin_password: str, bi_password: str, url: str | None = None, emit_lineage: bool = True
) -> Provisioned:
    """Create or update the database, dataset, charts and dashboard; emit the lineage run."""
    run = ProvisionRun(naming.superset_namespace())
    if emit_lineage:
        run.emit(run.start())
    try:
        done = _provision(settings, admin_password, bi_password, url or base_url(settings))
    except Exception as exc:
        if emit_lineage:
            run.emit(run.fail(exc))
        raise
    emitted = False
    if emit_lineage:
        urls = {"dataset": f"{done.dashboard_url.split('/superset/')[0]}/explore/?datasource_type=table&datasource_id={done.dataset_id}",
                "dashboard": done.dashboard_url}  # fmt: skip
        emitted = run.emit(run.complete(done.columns, urls))
    return Provisioned(**{**done.__dict__, "lineage_emitted": emitted})


def _provision(settings: Settings, admin_password: str, bi_password: str, url: str) -> Provisioned:
    api = SupersetApi(url)
    api.login(settings.superset_admin, admin_password)
    database_id = _database(api, settings, bi_password)
    dataset_id, columns = _dataset(api, database_id)
    dashboard_id = _dashboard(api)
    chart_ids = {chart.key: _chart(api, chart, dataset_id, dashboard_id) for chart in dashboard.CHARTS}
    api.call(
        "PUT",
        f"/dashboard/{dashboard_id}",
        {
            "dashboard_title": dashboard.DASHBOARD_TITLE,
            "slug": dashboard.DASHBOARD_SLUG,
            "published": True,
            "position_json": json.dumps(dashboard.position_json(chart_ids)),
            "json_metadata": json.dumps(dashboard.json_metadata(chart_ids)),
        },
    )
    return Provisioned(
        database_id, dataset_id, dashboard_id, chart_ids, columns,
        f"{url}/superset/dashboard/{dashboard.DASHBOARD_SLUG}/", lineage_emitted=False,
    )  # fmt: skip


def _database(api: SupersetApi, settings: Settings, bi_password: str) -> int:
    body = {
        "database_name": dashboard.DATABASE_NAME,
        "sqlalchemy_uri": sqlalchemy_uri(settings.pg, settings.bi_user, bi_password),
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_dml": False,
        "allow_file_upload": False,
    }
    found = api.find("database", "database_name", dashboard.DATABASE_NAME)
    if found:
        database_id = int(found[0]["id"])
        api.call("PUT", f"/database/{database_id}", body)
        return database_id
    return int(api.call("POST", "/database/", body)["id"])


def _dataset(api: SupersetApi, database_id: int) -> tuple[int, list[tuple[str, str]]]:
    found = [
        d
        for d in api.find("dataset", "table_name", dashboard.TABLE)
        if d.get("schema") == dashboard.SCHEMA and (d.get("database") or {}).get("id") == database_id
    ]
    if found:
        dataset_id = int(found[0]["id"])
        api.call("PUT", f"/dataset/{dataset_id}/refresh")  # the mart's columns as they are now
    else:
        body = {"database": database_id, "schema": dashboard.SCHEMA, "table_name": dashboard.TABLE}
        dataset_id = int(api.call("POST", "/dataset/", body)["id"])
    api.call(
        "PUT",
        f"/dataset/{dataset_id}",
        {
            "description": "The bioreactor mart (dbt model mart_bioreactor_overview): one row per batch and tag.",
            "main_dttm_col": "batch_start",
        },
    )
    detail = api.call("GET", f"/dataset/{dataset_id}")["result"]
    columns = [(c["column_name"], c.get("type") or "") for c in detail.get("columns", [])]
    missing = set(dashboard.TABLE_COLUMNS) - {name for name, _ in columns}
    if missing:
        raise ProvisionFailed(f"the mart lacks columns the dashboard shows: {sorted(missing)}")
    return dataset_id, columns


def _dashboard(api: SupersetApi) -> int:
    found = api.find("dashboard", "slug", dashboard.DASHBOARD_SLUG)
    if found:
        return int(found[0]["id"])
    body = {"dashboard_title": dashboard.DASHBOARD_TITLE, "slug": dashboard.DASHBOARD_SLUG, "published": True}
    return int(api.call("POST", "/dashboard/", body)["id"])


def _chart(api: SupersetApi, chart: dashboard.Chart, dataset_id: int, dashboard_id: int) -> int:
    body = {
        "slice_name": chart.name,
        "description": chart.description,
        "viz_type": chart.viz_type,
        "datasource_id": dataset_id,
        "datasource_type": "table",
        "params": json.dumps(chart.form_data(dataset_id)),
        "dashboards": [dashboard_id],
    }
    found = api.find("chart", "slice_name", chart.name)
    if found:
        chart_id = int(found[0]["id"])
        api.call("PUT", f"/chart/{chart_id}", body)
        return chart_id
    return int(api.call("POST", "/chart/", body)["id"])


def wait_until_answers(url: str, timeout_s: float = 120) -> None:
    """Superset's /health answers 200 (it is up and its app loaded)."""
    deadline = time.monotonic() + timeout_s
    session = requests.Session()
    session.trust_env = False
    while True:
        try:
            if session.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise ProvisionFailed(f"Superset did not answer on {url}/health within {timeout_s:.0f}s")
        time.sleep(0.5)
