"""Events written by other OpenLineage producers, replayed into a real built-in server.

The corpus (tests/data/marquez/producers/, its manifest and README) holds events copied unchanged
from the public test data of Spark, Flink, dbt-ol, Hive, Marquez's own fixtures and the
OpenLineage Python client. Each group is replayed, in file order, into a server of its own
(real HTTP, a fresh database), then read back. The behaviours asserted are those Marquez 0.51.1
shows for these producers; each test names the Java file of Marquez it follows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.marquez.support import TIMEOUT, get_json, post_event
from tests.marquez_fixture import MarquezServer

pytestmark = pytest.mark.marquez

CORPUS = Path(__file__).resolve().parents[1] / "data" / "marquez" / "producers"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["files"]
GROUPS = sorted({entry["file"].split("/")[0] for entry in MANIFEST})


def _events(group: str) -> list[dict]:
    """The group's events in replay order: its files in manifest order, a .jsonl line by line."""
    out: list[dict] = []
    for entry in MANIFEST:
        if entry["file"].split("/")[0] != group:
            continue
        text = (CORPUS / entry["file"]).read_text()
        if entry["file"].endswith(".jsonl"):
            out.extend(json.loads(line) for line in text.splitlines() if line.strip())
        else:
            doc = json.loads(text)
            out.extend(doc if isinstance(doc, list) else [doc])
    return out


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


def _get(url: str, path: str, params: dict | None = None) -> requests.Response:
    response = requests.get(f"{url}/api/v1{path}", params=params, timeout=TIMEOUT)
    assert response.status_code < 500, (
        f"GET {path} {params or ''} answered {response.status_code}: {response.text[:300]}"
    )
    return response


def _replay(server: MarquezServer, events: list[dict]) -> None:
    for event in events:
        response = post_event(server.url, event)
        assert response.status_code == 201, (
            f"{response.status_code} {response.text[:300]} for {json.dumps(event)[:300]}"
        )
    assert get_json(server.url, "/projection-errors")["errors"] == []


def _named(events: list[dict]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The (namespace, name) of every job and every dataset the events name."""
    jobs, datasets = set(), set()
    for event in events:
        if isinstance(event.get("job"), dict):
            jobs.add((event["job"]["namespace"], event["job"]["name"]))
        if isinstance(event.get("dataset"), dict):
            datasets.add((event["dataset"]["namespace"], event["dataset"]["name"]))
        for side in ("inputs", "outputs"):
            for ds in event.get(side) or []:
                datasets.add((ds["namespace"], ds["name"]))
    return jobs, datasets


@pytest.fixture(scope="module")
def replayed(request: pytest.FixtureRequest, tmp_path_factory) -> Any:
    """`replayed(group)`: a built-in server (fresh database) the group's events were replayed
    into, each acknowledged (201) and projected without error; started once per module."""
    from tests.marquez_fixture import start_builtin_server

    postgres = request.getfixturevalue("postgres")
    servers: dict[str, MarquezServer] = {}

    def get(group: str) -> MarquezServer:
        if group not in servers:
            servers[group] = start_builtin_server(postgres, tmp_path_factory.mktemp(f"producers-{group}"))
            _replay(servers[group], _events(group))
        return servers[group]

    try:
        yield get
    finally:
        for server in servers.values():
            server.stop()


def test_corpus_has_five_producers_outside_this_project() -> None:
    """The manifest names at least five producers, each file with its repository, commit and path."""
    producers = {entry["producer"] for entry in MANIFEST}
    assert len(producers) >= 5, producers
    for entry in MANIFEST:
        assert entry["repository"] and len(entry["commit"]) == 40 and entry["path"] and entry["license"]
        assert (CORPUS / entry["file"]).is_file()
    assert sum(len(_events(g)) for g in GROUPS) == sum(entry["events"] for entry in MANIFEST)


@pytest.mark.parametrize("group", GROUPS)
def test_group_is_acknowledged_projected_and_readable(replayed, group: str) -> None:
    """Every event answers 201 and is projected without error; every job and dataset an event
    names is readable (200) with its runs, versions and lineage, and no read answers 5xx."""
    server = replayed(group)
    jobs, datasets = _named(_events(group))
    url = server.url
    for ns, name in sorted(jobs):
        # A job whose run has a parent facet is filed as `<parent>.<job>` (JobDao's upsert).
        listed = {j["name"] for j in get_json(url, _path("namespaces", ns, "jobs"), {"limit": 1000})["jobs"]}
        filed = [n for n in listed if n == name or n.endswith("." + name)]
        assert filed, f"job {ns}/{name} is not listed: {sorted(listed)}"
        name = filed[0]
        assert get_json(url, _path("namespaces", ns, "jobs", name))["name"] == name
        _get(url, _path("namespaces", ns, "jobs", name, "runs"))
        _get(url, _path("namespaces", ns, "jobs", name, "versions"))
        _get(url, "/lineage", {"nodeId": f"job:{ns}:{name}"})
    for ns, name in sorted(datasets):
        ds = get_json(url, _path("namespaces", ns, "datasets", name))
        assert ds["name"] == name
        _get(url, _path("namespaces", ns, "datasets", name, "versions"))
        _get(url, "/lineage", {"nodeId": f"dataset:{ns}:{name}"})
        _get(url, "/column-lineage", {"nodeId": f"dataset:{ns}:{name}"})
    for path in ("/namespaces", "/jobs", "/search", "/events/lineage"):
        _get(url, path, {"q": "a"} if path == "/search" else None)
