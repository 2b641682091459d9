"""marquez/README.md's compatibility table, kept true: every path of Marquez's OpenAPI spec
(tests/data/marquez/openapi.yml, Marquez 0.51's, Apache-2.0) has a row; a row marked answered is
answered by the built-in server (not a 404 or 405 for want of a route) and one marked not answered
is not; each behaviour row cites a test that exists; the differences section is differences.py's
list. Plus the two endpoints added for the table: a job version by id and /runlineage/upstream.

`python -m tests.marquez.test_compatibility` rewrites the differences section from differences.py.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from marquez.differences import DIFFERENCES, Difference
from tests.marquez.support import dataset, get_json, post_ok, run_event
from tests.marquez_fixture import MarquezServer, start_builtin_server

pytestmark = pytest.mark.marquez

REPO = Path(__file__).resolve().parents[2]
README = REPO / "marquez" / "README.md"
SPEC = REPO / "tests" / "data" / "marquez" / "openapi.yml"
METHODS = ("get", "put", "post", "delete", "patch")
ROW = re.compile(r"^\| `(GET|PUT|POST|DELETE|PATCH)` \| `([^`]+)` \| (yes|no|ours) \|")


def section(name: str, text: str | None = None) -> str:
    text = README.read_text() if text is None else text
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    assert start in text and end in text, f"marquez/README.md has no {start} ... {end} section"
    return text.split(start, 1)[1].split(end, 1)[0]


def endpoint_rows() -> dict[tuple[str, str], str]:
    rows = {}
    for line in section("endpoints").splitlines():
        found = ROW.match(line)
        if found:
            method, path, answered = found.groups()
            assert (method, path) not in rows, f"two rows for {method} {path}"
            rows[(method, path)] = answered
    return rows


def spec_endpoints() -> set[tuple[str, str]]:
    spec = yaml.safe_load(SPEC.read_text())
    return {(m.upper(), path) for path, item in spec["paths"].items() for m in item if m in METHODS}


# -- the endpoints ---------------------------------------------------------------------------------
def test_every_spec_endpoint_has_a_row():
    rows = endpoint_rows()
    spec = spec_endpoints()
    assert len(spec) >= 30, f"the spec lists only {len(spec)} endpoints"
    missing = sorted(spec - set(rows))
    assert not missing, f"endpoints of the OpenAPI spec without a row in the README: {missing}"
    not_in_spec = {key for key in rows if key not in spec}
    for method, path in not_in_spec:
        line = next(ln for ln in section("endpoints").splitlines() if f"`{method}` | `{path}`" in ln)
        assert "not in the spec" in line or rows[(method, path)] == "ours", (
            f"{method} {path}: say it is not in the spec"
        )


NS, JOB, DS_NS, DS, FIELD = "compat", "load", "compat-db://h:5432", "db.s.readings", "temp"
T0 = dt.datetime(2025, 3, 9, tzinfo=dt.UTC)
RUN_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "compat/run"))


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[MarquezServer]:
    started = start_builtin_server(request.getfixturevalue("postgres"), tmp_path_factory.mktemp("marquez-compat"))
    try:
        out = dataset(DS_NS, DS, [(FIELD, "DOUBLE")], source=("src", "postgres://h:5432"))
        post_ok(
            started.url,
            run_event("START", namespace=NS, job=JOB, run_id=RUN_ID, event_time=T0, outputs=[out]),
            run_event("COMPLETE", namespace=NS, job=JOB, run_id=RUN_ID, event_time=T0 + dt.timedelta(minutes=1),
                      outputs=[out]),
        )  # fmt: skip
        yield started
    finally:
        started.stop()


def _versions(server: MarquezServer) -> dict[str, str]:
    """The seeded job's and dataset's version ids (read before any row deletes them)."""
    q = requests.utils.quote  # type: ignore[attr-defined]
    job = get_json(server.url, f"/namespaces/{NS}/jobs/{JOB}/versions")["versions"][0]["version"]
    ds = get_json(server.url, f"/namespaces/{q(DS_NS, safe='')}/datasets/{DS}/versions")["versions"][0]["version"]
    return {"job": job, "dataset": ds}


def _concrete(path: str, versions: dict[str, str]) -> str:
    """The path with real names of the seeded job, run, dataset and their versions."""
    q = requests.utils.quote  # type: ignore[attr-defined]
    version = versions["job"] if "/jobs/{job}/versions" in path else versions["dataset"]
    values = {
        "namespace": NS if "/jobs" in path else q(DS_NS, safe=""),
        "job": JOB,
        "dataset": DS,
        "field": FIELD,
        "version": version,
        "id": RUN_ID,
        "source": "src",
        "tag": "PII",
    }
    path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    if path.startswith("/stats/"):
        return "/stats/lineage-events?period=DAY&timezone=UTC"
    query = {
        "/lineage": f"?nodeId=job:{NS}:{JOB}",
        "/column-lineage": f"?nodeId=dataset:{DS_NS}:{DS}",
        "/runlineage/upstream": f"?runId={RUN_ID}",
        "/search": "?q=readings",
        "/jobs/runs/" + RUN_ID + "/facets": "?type=run",
    }
    return path + query.get(path, "")


def _unrouted(response: requests.Response) -> bool:
    """The answer of the router when no route takes the request (api/routing.py)."""
    if response.status_code == 405:
        return True
    return response.status_code == 404 and "HTTP 404 Not Found" in response.text


def test_job_version_by_id(server):
    """GET .../jobs/{job}/versions/{version} answers the version as the list does
    (JobResource.getJobVersion)."""
    listed = get_json(server.url, f"/namespaces/{NS}/jobs/{JOB}/versions")["versions"][0]
    one = get_json(server.url, f"/namespaces/{NS}/jobs/{JOB}/versions/{listed['version']}")
    assert one == listed
    missing = str(uuid.uuid4())
    response = requests.get(f"{server.url}/api/v1/namespaces/{NS}/jobs/{JOB}/versions/{missing}", timeout=15)
    assert response.status_code == 404 and missing in response.json()["message"]
    bad = requests.get(f"{server.url}/api/v1/namespaces/{NS}/jobs/{JOB}/versions/nope", timeout=15)
    assert bad.status_code == 400


def test_each_row_answers_as_the_table_says(server):
    """(It deletes the seeded job and dataset at the end: the module's other tests on `server` run first.)"""
    wrong = []
    versions = _versions(server)
    # Deletes last: they hide what the other rows read.
    for (method, path), answered in sorted(endpoint_rows().items(), key=lambda kv: (kv[0][0] == "DELETE", kv[0])):
        body = None
        if method == "POST" and path in ("/lineage", "/lineage/batch"):
            event = run_event("START", namespace=NS, job="posted", run_id=str(uuid.uuid4()), event_time=T0)
            body = event if path == "/lineage" else [event]
        elif method in ("PUT", "POST") and "{" in path:
            body = {"description": "d"} if "/tags/" in path else {}
        url = f"{server.url}/api/v1{_concrete(path, versions)}"
        response = requests.request(method, url, json=body, timeout=30)
        unrouted = _unrouted(response)
        if (answered in ("yes", "ours")) == unrouted:
            wrong.append(f"{method} {path} ({answered}): {response.status_code} {response.text[:120]}")
        if answered in ("yes", "ours") and response.status_code >= 500:
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
    assert not wrong, "README rows that do not hold:\n" + "\n".join(wrong)


def test_run_lineage_upstream(start_builtin):
    """Marquez's LineageDao.getUpstreamRuns: from a run, the dataset versions it read, the runs
    that wrote them, up to `depth`; one entry per run, nearest first (then by job name), each
    with its job, its run summary and the versions it read (LineageService.upstream)."""
    server = start_builtin()
    ns, db = "up", "up-db://h:5432"
    a, b, c = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"up/{x}")) for x in "abc")

    def ev(kind, job, run, minute, **kw):
        return run_event(kind, namespace=ns, job=job, run_id=run, event_time=T0 + dt.timedelta(minutes=minute), **kw)

    d1, d2, d3 = (dataset(db, f"db.s.d{i}") for i in (1, 2, 3))
    post_ok(
        server.url,
        ev("START", "a_extract", a, 0, outputs=[d1]), ev("COMPLETE", "a_extract", a, 1, outputs=[d1]),
        ev("START", "b_transform", b, 2, inputs=[d1], outputs=[d2]),
        ev("COMPLETE", "b_transform", b, 3, inputs=[d1], outputs=[d2]),
        ev("START", "c_report", c, 4, inputs=[d2], outputs=[d3]),
        ev("COMPLETE", "c_report", c, 5, inputs=[d2], outputs=[d3]),
    )  # fmt: skip
    body = get_json(server.url, "/runlineage/upstream", {"runId": c})
    runs = body["runs"]
    assert [r["run"]["id"] for r in runs] == [c, b, a]
    assert [r["job"]["name"] for r in runs] == ["c_report", "b_transform", "a_extract"]
    assert all(r["job"]["namespace"] == ns and r["job"]["version"] for r in runs)
    assert runs[0]["run"] == {"id": c, "start": "2025-03-09T00:04:00Z", "end": "2025-03-09T00:05:00Z",
                              "status": "COMPLETED"}  # fmt: skip
    # The version of d2 that c read, as the run lists it (the dataset version's `version`).
    read = get_json(server.url, f"/jobs/runs/{c}")["inputDatasetVersions"][0]["datasetVersionId"]
    assert runs[0]["inputs"] == [{"namespace": db, "name": "db.s.d2", "version": read["version"], "producedByRunId": b}]
    assert [(i["name"], i["producedByRunId"]) for i in runs[1]["inputs"]] == [("db.s.d1", a)]
    assert runs[2]["inputs"] == []
    # `depth` bounds the recursion: 0 is the run and what it read, 1 one run further up.
    for depth, ids in ((0, [c]), (1, [c, b]), (2, [c, b, a])):
        got = get_json(server.url, "/runlineage/upstream", {"runId": c, "depth": depth})["runs"]
        assert [r["run"]["id"] for r in got] == ids, depth
    missing = str(uuid.uuid4())
    response = requests.get(f"{server.url}/api/v1/runlineage/upstream", params={"runId": missing}, timeout=15)
    assert response.status_code == 404, response.text
    assert requests.get(f"{server.url}/api/v1/runlineage/upstream", timeout=15).status_code == 400


# -- the behaviours ------------------------------------------------------------------------------------
def test_each_behaviour_cites_a_test_that_exists():
    rows = [ln for ln in section("behaviours").splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    assert len(rows) >= 12
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] in ("matched", "not yet"), line
        if cells[1] == "not yet" and cells[2] == "—":
            continue
        cited = re.fullmatch(r"`(tests/[\w/]+\.py)::(test_\w+)`", cells[2])
        assert cited, f"no test cited as `tests/...py::test_name`: {line}"
        path, name = REPO / cited.group(1), cited.group(2)
        assert path.exists(), f"{cited.group(1)} does not exist ({line})"
        functions = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
        assert name in functions, f"{cited.group(1)} has no {name} ({line})"


# -- the differences ---------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_differences(differences: tuple[Difference, ...] = DIFFERENCES) -> str:
    lines = ["", "| key | Marquez 0.51.1 | built-in | why |", "| --- | --- | --- | --- |"]
    lines += [f"| `{d.key}` | {_cell(d.marquez)} | {_cell(d.ours)} | {_cell(d.reason)} |" for d in differences]
    return "\n".join(lines) + "\n"


def test_readme_lists_the_differences_of_differences_py():
    assert section("differences") == render_differences(), (
        "marquez/README.md's differences are not marquez/differences.py's: run "
        "`python -m tests.marquez.test_compatibility` to rewrite them"
    )


def write_differences() -> None:
    text = README.read_text()
    start, end = "<!-- differences:start -->", "<!-- differences:end -->"
    head, rest = text.split(start, 1)
    README.write_text(head + start + render_differences() + end + rest.split(end, 1)[1])


if __name__ == "__main__":
    write_differences()
    print(f"rewrote the differences in {README.relative_to(REPO)}", file=sys.stderr)
