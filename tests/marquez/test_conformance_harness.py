"""The conformance comparator itself, without a Marquez: its rules, and a replay against a
fake server that answers exactly what the recordings hold (lists shuffled, volatile values
changed), which must match 100% when judged as a real Marquez."""

from __future__ import annotations

import copy
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.marquez import conformance as cf

SCENARIOS = cf.load_scenarios()
STEPS = {(s.scenario, s.index): s for sc in SCENARIOS for s in sc.steps}


# --- structural diff ------------------------------------------------------------------


def test_lists_compare_as_multisets_recursively() -> None:
    expected = {"a": [{"x": [1, 2, 3]}, {"x": [4]}], "b": "s"}
    actual = {"b": "s", "a": [{"x": [4]}, {"x": [3, 1, 2]}]}
    assert cf.diff(expected, actual) == []
    # but multiplicity counts
    assert cf.diff([1, 1, 2], [1, 2, 2])


def test_diff_names_missing_and_extra_keys_and_values() -> None:
    problems = cf.diff({"a": 1, "b": {"c": "x"}}, {"b": {"c": "y"}, "z": 0})
    assert any("missing key(s) 'a'" in p for p in problems)
    assert any("extra key(s) 'z'" in p for p in problems)
    assert any(p.startswith('b.c: expected "x", got "y"') for p in problems)


def test_diff_pairs_unmatched_list_items_by_id() -> None:
    expected = {"jobs": [{"id": "j1", "state": "OK"}, {"id": "j2", "state": "OK"}]}
    actual = {"jobs": [{"id": "j2", "state": "OK"}, {"id": "j1", "state": "FAILED"}]}
    assert cf.diff(expected, actual) == ['jobs[id="j1"].state: expected "OK", got "FAILED"']
    problems = cf.diff({"l": [{"id": 1}, {"id": 2}]}, {"l": [{"id": 1}, {"id": 3}, {"id": 4}]})
    assert any("expected 2 item(s), got 3" in p for p in problems)
    assert any("expected item not found" in p for p in problems)
    assert any("unexpected item" in p for p in problems)


def test_numbers_types_and_wildcards() -> None:
    assert cf.diff({"n": 1}, {"n": 1.0}) == []
    assert cf.diff([1.0, 2], [2, 1]) == []
    assert cf.diff({"n": 1}, {"n": True})  # a boolean is not a number
    assert cf.diff({"n": None}, {"n": 0})
    assert cf.diff("", {})  # an empty body is not an empty object
    assert cf.diff({"t": cf.ANY}, {"t": "whatever"}) == []
    assert cf.diff({"t": cf.ANY}, {})  # ANY still needs the key
    assert cf.diff([{"id": 1, "t": cf.ANY}, {"id": 2, "t": 5}], [{"id": 2, "t": 5}, {"id": 1, "t": 9}]) == []


def test_drop_path_goes_through_nested_lists() -> None:
    body = {
        "jobs": [
            {"id": 1, "latestRuns": [{"id": "a", "k": 1}, {"id": "b", "k": 2}], "updatedAt": "t"},
            {"id": 2, "latestRuns": [], "updatedAt": "u"},
            {"id": 3},
        ],
        "currentVersion": "v",
    }
    for path in ("jobs[*].latestRuns[*].id", "jobs[*].updatedAt", "currentVersion", "nothing.here", "jobs[*].x.y"):
        cf.drop_path(body, path)
    assert body == {"jobs": [{"id": 1, "latestRuns": [{"k": 1}, {"k": 2}]}, {"id": 2, "latestRuns": []}, {"id": 3}]}


# --- judging one step -----------------------------------------------------------------


def _late_run_step(index: int = 45) -> cf.Step:
    return STEPS[("p03-run-states", index)]


def test_deliberate_run_state_is_checked_not_ignored() -> None:
    step = _late_run_step()
    assert step.response["state"] == "RUNNING"  # what Marquez answered (#2264)
    ours = dict(step.response, state="COMPLETED", updatedAt="2025-03-05T00:31:00Z")
    ok, key, problems = cf.judge(step, 200, ours, "builtin")
    assert ok and key == cf.RUN_STATE_KEY, problems
    # Marquez's answer is not ours: judged as the built-in server, it is a mismatch ...
    ok, key, problems = cf.judge(step, 200, step.response, "builtin")
    assert not ok and any('expected "COMPLETED", got "RUNNING"' in p for p in problems)
    # ... and the rest of the run must still be Marquez's
    ok, _, problems = cf.judge(step, 200, dict(ours, durationMs=1), "builtin")
    assert not ok and any(p.startswith("durationMs") for p in problems)
    # against a real Marquez, the recording is the truth
    assert cf.judge(step, 200, step.response, "marquez")[0]


def test_deliberate_run_state_reaches_nested_runs() -> None:
    step = _late_run_step(14)  # the namespace's job list: latestRun and latestRuns
    ours = copy.deepcopy(step.response)
    for job in ours["jobs"]:
        for run in [job.get("latestRun"), *(job.get("latestRuns") or [])]:
            if run and run["id"] == "a1c8d393-db3c-5b2f-9a4c-3cbe1d4be956":
                run["state"] = "COMPLETED"
    assert cf.judge(step, 200, ours, "builtin")[0]


def test_marquez_500_for_bad_input_must_be_4xx_from_us() -> None:
    disguised = [s for s in STEPS.values() if cf.is_disguised_client_error(s)]
    assert {(s.scenario, s.index) for s in disguised} == {("p07-bad-input", i) for i in (0, 2, 11, 13)}
    malformed = STEPS[("p07-bad-input", 0)]
    assert cf.judge(malformed, 400, {"message": "malformed JSON"}, "builtin") == (True, cf.BAD_INPUT_KEY, [])
    assert not cf.judge(malformed, 500, malformed.response, "builtin")[0]
    assert cf.judge(malformed, 500, malformed.response, "marquez")[0]
    bad_time = STEPS[("p07-bad-input", 11)]
    assert cf.judge(bad_time, 400, {"message": "eventTime: not a timestamp: 'yesterday'"}, "builtin")[0]
    ok, _, problems = cf.judge(bad_time, 400, {"message": "bad request"}, "builtin")
    assert not ok and any("eventTime" in p for p in problems)


def test_errors_compare_by_status_class_and_empty_bodies_as_empty() -> None:
    not_found = next(s for s in STEPS.values() if s.status == 404)
    assert cf.judge(not_found, 404, {"error": "whatever shape"}, "builtin")[0]
    assert cf.judge(not_found, 410, "", "builtin")[0]
    assert not cf.judge(not_found, 200, not_found.response, "builtin")[0]
    created = next(s for s in STEPS.values() if s.status == 201)
    assert created.response == ""
    assert cf.judge(created, 201, "", "builtin")[0]
    assert not cf.judge(created, 201, {}, "builtin")[0]
    assert not cf.judge(created, 200, "", "builtin")[0]


def test_the_table_and_the_recordings_agree() -> None:
    assert [sc.name for sc in SCENARIOS] == sorted(p.stem for p in cf.DATA_DIR.glob("*.json"))
    assert sum(len(sc.steps) for sc in SCENARIOS) == 464  # the README's count
    external = {(s.scenario, s.index): s for sc in cf.load_scenarios(cf.EXTERNAL_DIR) for s in sc.steps}
    assert set(cf.DELIBERATE) <= set(STEPS) | set(external)
    for (scenario, index), deliberate in cf.DELIBERATE.items():
        if deliberate.key == cf.RUN_STATE_KEY:
            assert "a1c8d393-db3c-5b2f-9a4c-3cbe1d4be956" in json.dumps(STEPS[(scenario, index)].response)
        if deliberate.key == cf.COLUMN_INPUT_TYPE_KEY:  # each judged step shows an untyped input field
            assert '"fieldType": ""' in json.dumps(external[(scenario, index)].response)


# --- a whole replay against a fake server ---------------------------------------------


def _set_path(value, tokens, new) -> None:
    if not tokens:
        return
    head, tail = tokens[0], tokens[1:]
    if head is None and isinstance(value, list):
        for item in value:
            _set_path(item, tail, new) if tail else None
    elif isinstance(head, str) and isinstance(value, dict) and head in value:
        if tail:
            _set_path(value[head], tail, new)
        else:
            value[head] = new


def _shuffle(value, rng: random.Random):
    if isinstance(value, dict):
        return {k: _shuffle(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        items = [_shuffle(v, rng) for v in value]
        rng.shuffle(items)
        return items
    return value


class _RecordedMarquez(BaseHTTPRequestHandler):
    """Answers each request with the next recorded response, after checking the request is
    the recorded one, byte for byte."""

    steps: list = []
    position = 0
    errors: list = []
    rng = random.Random(7)

    def _answer(self) -> None:
        cls = type(self)
        if (self.command, self.path) == ("GET", "/api/v1/namespaces?limit=1000"):  # the script's empty-store probe
            return self._send(200, {"namespaces": [{"name": "default"}]})
        if self.path == "/healthcheck":  # real Marquez serves it on the admin port only
            return self._send(404, {"code": 404, "message": "HTTP 404 Not Found"})
        step = cls.steps[cls.position]
        cls.position += 1
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        want = cf._payload(step) or b""
        if (self.command, self.path, sent) != (step.method, step.path, want):
            cls.errors.append(f"{step.scenario} {step.index}: got {self.command} {self.path} {sent[:60]!r}")
        if step.raw is not None and self.headers.get("Content-Type") != "application/json":
            cls.errors.append(f"{step.scenario} {step.index}: raw body sent as {self.headers.get('Content-Type')}")
        body = _shuffle(copy.deepcopy(step.response), cls.rng)
        for path in step.volatile:
            _set_path(body, cf._parse_path(path), "CHANGED")
        self._send(step.status, body)

    def _send(self, status: int, body) -> None:
        data = b"" if body == "" else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorded_marquez():
    _RecordedMarquez.steps = [s for sc in SCENARIOS for s in sc.steps]
    _RecordedMarquez.position = 0
    _RecordedMarquez.errors = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordedMarquez)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_replay_of_the_recordings_themselves_matches_fully(recorded_marquez: str) -> None:
    report = cf.replay(recorded_marquez, SCENARIOS, flavor="marquez")
    assert not _RecordedMarquez.errors, _RecordedMarquez.errors[:5]
    assert len(report.results) == 464
    assert report.rate() == 1.0, report.format()


def test_replay_judged_as_builtin_flags_exactly_the_deliberate_steps(recorded_marquez: str) -> None:
    report = cf.replay(recorded_marquez, SCENARIOS, flavor="builtin")
    flagged = {(r.scenario, r.index) for r in report.mismatches()}
    expected = set(cf.DELIBERATE) & set(STEPS) | {k for k, s in STEPS.items() if cf.is_disguised_client_error(s)}
    assert flagged == expected
    text = report.format()
    assert "MISMATCH p03-run-states step 45: GET /api/v1/jobs/runs/a1c8d393" in text
    assert "overall" in text


def test_script_writes_a_report(recorded_marquez: str, tmp_path, capsys) -> None:
    out = tmp_path / "report.json"
    code = cf.main(["--url", recorded_marquez, "--report", str(out)])  # flavor auto: "marquez" here
    assert code == 0
    data = json.loads(out.read_text())
    assert data["flavor"] == "marquez" and data["rate"] == 1.0 and len(data["results"]) == 464
    assert "overall" in capsys.readouterr().out


def test_script_replays_a_subset_and_exits_1_below_the_gate(recorded_marquez: str, tmp_path, capsys) -> None:
    _RecordedMarquez.steps = list(cf.load_scenarios(only=["p07"])[0].steps)
    code = cf.main(
        ["--url", recorded_marquez, "--scenario", "p07", "--flavor", "builtin", "--report", str(tmp_path / "r.txt")]
    )
    out = capsys.readouterr().out
    assert code == 1  # 4 of 26 answers are Marquez's 500s, which the built-in server must not give
    assert "p07-bad-input" in out and "MISMATCH p07-bad-input step 0" in out
    assert "MISMATCH" in (tmp_path / "r.txt").read_text()
