"""Conformance on other producers' events: the built-in server answers like the recorded Marquez 0.51.1.

The recordings in tests/data/marquez/conformance-external/ (issue 23; their README and manifests
say where each event comes from) were made on a real Marquez 0.51.1 with OpenLineage events
other projects wrote: the Airflow provider 1.14 (x01). They are replayed once, in file order,
into one empty built-in server, and every test below reads that one replay. The gate is the
overall match rate (>= 98%); the rules are tests/marquez/conformance.py's. For a report outside
pytest:

    python -m tests.marquez.conformance --url http://127.0.0.1:PORT --data tests/data/marquez/conformance-external
"""

from __future__ import annotations

import json

import pytest

from tests.marquez import conformance as cf
from tests.marquez_fixture import MarquezFactory

pytestmark = pytest.mark.marquez

GATE = 0.98
SCENARIOS = sorted(s.name for s in cf.load_scenarios(cf.EXTERNAL_DIR))


@pytest.fixture(scope="module")
def replayed(request: pytest.FixtureRequest, tmp_path_factory) -> cf.Report:
    """The one replay of the external recordings, into a fresh built-in server (its own database)."""
    factory = MarquezFactory("builtin", request, tmp_path_factory.mktemp("marquez-conformance-external"))
    try:
        server = factory.start()
        report = cf.replay(server.url, flavor="builtin", directory=cf.EXTERNAL_DIR)
        if server.log_path:
            report.notes.append(f"server log: {server.log_path}")
        out = tmp_path_factory.mktemp("marquez-conformance-external-report")
        (out / "report.txt").write_text(report.format(max_problems=1000) + "\n", encoding="utf-8")
        (out / "report.json").write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
        report.notes.append(f"full report: {out / 'report.txt'}")
        yield report
    finally:
        factory.stop_all()


def test_recordings_are_the_copied_data() -> None:
    """Each recording has its manifest beside it (repository, commit and path of every event), one
    entry per posted event, and the README the workplace gave with them."""
    assert (cf.EXTERNAL_DIR / "README.md").is_file()
    assert SCENARIOS, f"no recordings in {cf.EXTERNAL_DIR}"
    for scenario in cf.load_scenarios(cf.EXTERNAL_DIR):
        manifest = json.loads((cf.EXTERNAL_DIR / f"{scenario.name}.manifest.json").read_text(encoding="utf-8"))
        posted = [s for s in scenario.steps if s.method == "POST" and s.path == "/api/v1/lineage"]
        assert len(manifest) == len(posted), scenario.name
        for entry in manifest:
            assert entry["repo"] and len(entry["commit"]) == 40 and entry["path"], entry


def test_overall_match_rate(replayed: cf.Report) -> None:
    assert len(replayed.results) == sum(len(s.steps) for s in cf.load_scenarios(cf.EXTERNAL_DIR))
    assert replayed.rate() >= GATE, "\n" + replayed.format()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_event_is_acknowledged(replayed: cf.Report, scenario: str) -> None:
    """No event of another producer is refused: every POST answers as Marquez's did (201)."""
    posts = [r for r in replayed.of(scenario) if r.request.startswith("POST /api/v1/lineage")]
    assert posts, f"{scenario} posted nothing"
    assert all(r.ok and r.actual_status == 201 for r in posts), [r.problems for r in posts if not r.ok]


def test_deliberate_differences_hold(replayed: cf.Report) -> None:
    """Every step judged by a deliberate difference shows OUR documented behaviour, and each
    difference it uses is listed with its reason in marquez.differences."""
    from marquez.differences import BY_KEY

    judged = [r for r in replayed.results if (r.scenario, r.index) in cf.DELIBERATE]
    assert judged, "no external step is covered by a deliberate difference: the table or the recordings changed"
    failing = [r for r in judged if not r.ok]
    assert not failing, "\n".join(
        f"{r.scenario} step {r.index}: {r.request}: " + "; ".join(r.problems[:5]) for r in failing
    )
    assert {r.difference for r in judged} <= set(BY_KEY)
