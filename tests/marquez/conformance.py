"""Replay the recorded Marquez 0.51.1 conversations against a server and compare the answers.

The recordings (`tests/data/marquez/conformance/*.json`, copied from the workplace's
reference set; their README is beside them) hold, per scenario, the requests a client made
to a real Marquez 0.51.1 on an empty database and what it answered. This module replays
them against any server and compares by the README's rules:

- scenarios run in file order, each one's steps in order, all against one (empty) store;
- `request.raw` is sent byte for byte, `request.body` as JSON, both as application/json;
- `volatile` paths (`[*]` = every item of a list, through nested lists too) are dropped on
  both sides before comparing;
- lists compare as multisets, recursively: order is not part of the contract;
- error answers (status >= 400 on either side) compare by status class only; where Marquez
  answered 500 for what its own body calls a 400-class problem (malformed JSON, a bad
  timestamp, a mistyped field), the built-in server must answer 4xx: a match, counted under
  the named deliberate difference `BAD_INPUT_KEY`;
- an empty body (`""`, as Marquez sends with 201) compares as empty;
- steps in `DELIBERATE` are where the built-in server behaves differently from Marquez on
  purpose (each keyed to `marquez.differences.DIFFERENCES`): there the answer is checked
  against OUR documented behaviour, so a deliberate difference is asserted, not ignored.

Against a real Marquez (flavor "marquez"), no difference applies: it must match its own
recordings as they are.

Match rate = matching responses / all responses.

As a script (from the repository root):

    python -m tests.marquez.conformance --url http://127.0.0.1:5555 [--scenario p02] [--report FILE]

prints the rate per scenario and, per mismatching step, the scenario, step index, request,
and a structural diff. The store must be empty (scenarios count what earlier ones stored);
replaying a single scenario is for debugging: its global lists may then differ.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "marquez" / "conformance"
# Real Marquez 0.51.1 on events other projects' producers wrote (issue 23): replayed on their own.
EXTERNAL_DIR = DATA_DIR.parent / "conformance-external"
GATE = 0.98  # overall match rate the conformance test requires (issue 9)

# Keys into marquez.differences.DIFFERENCES (the lead's list of deliberate differences).
BAD_INPUT_KEY = "bad-input-400"
RUN_STATE_KEY = "run-state-by-event-time"
COLUMN_INPUT_TYPE_KEY = "column-lineage-input-field-type"

FLAVORS = ("builtin", "marquez")


# --------------------------------------------------------------------------------------
# Recordings


@dataclass(frozen=True)
class Step:
    scenario: str
    index: int
    method: str
    path: str
    body: Any  # JSON to send, or None
    raw: str | None  # bytes to send as they are (UTF-8), or None
    label: str | None
    status: int
    response: Any  # recorded body: JSON value, or "" for an empty body
    volatile: tuple[str, ...]

    @property
    def request_line(self) -> str:
        line = f"{self.method} {self.path}"
        if self.label:
            line += f"  [{self.label}]"
        return line


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]

    @property
    def short(self) -> str:
        return self.name.split("-", 1)[0]


def load_scenarios(directory: Path = DATA_DIR, only: Iterable[str] = ()) -> list[Scenario]:
    """All recordings in file order; `only` keeps scenarios whose name starts with any prefix."""
    prefixes = tuple(only)
    scenarios = []
    files = sorted(p for p in directory.glob("*.json") if not p.name.endswith(".manifest.json"))
    if not files:
        raise FileNotFoundError(f"no conformance recordings (*.json) in {directory}")
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        name = data.get("scenario") or path.stem
        if prefixes and not name.startswith(prefixes):
            continue
        steps = []
        for i, raw_step in enumerate(data["steps"]):
            request, response = raw_step["request"], raw_step["response"]
            steps.append(
                Step(
                    scenario=name,
                    index=i,
                    method=request["method"],
                    path=request["path"],
                    body=request.get("body"),
                    raw=request.get("raw"),
                    label=request.get("label"),
                    status=int(response["status"]),
                    response=response.get("body", ""),
                    volatile=tuple(raw_step.get("volatile") or ()),
                )
            )
        scenarios.append(Scenario(name=name, description=data.get("description", ""), steps=tuple(steps)))
    if prefixes and not scenarios:
        raise ValueError(f"no scenario starts with {', '.join(prefixes)} in {directory}")
    return scenarios


# --------------------------------------------------------------------------------------
# Structural comparison


class _Any:
    """In an expected value: any value is fine here (the key must still be present)."""

    def __repr__(self) -> str:
        return "<any>"

    def __copy__(self) -> _Any:
        return self

    def __deepcopy__(self, memo: dict) -> _Any:
        return self  # one instance, so `is ANY` holds in copies of expected bodies


ANY = _Any()

_PATH_TOKEN = re.compile(r"\[\*\]|\[(\d+)\]|([^.\[\]]+)")


def _parse_path(path: str) -> list[str | int | None]:
    """`jobs[*].latestRuns[*].id` -> ["jobs", None, "latestRuns", None, "id"] (None = every item)."""
    tokens: list[str | int | None] = []
    for match in _PATH_TOKEN.finditer(path):
        if match.group(0) == "[*]":
            tokens.append(None)
        elif match.group(1) is not None:
            tokens.append(int(match.group(1)))
        else:
            tokens.append(match.group(2))
    return tokens


def drop_path(value: Any, path: str) -> None:
    """Remove what `path` names from `value`, in place; parts that are not there are skipped."""
    tokens = _parse_path(path)
    if not tokens:
        return

    def walk(node: Any, rest: list) -> None:
        head, tail = rest[0], rest[1:]
        if head is None:
            if isinstance(node, list):
                for item in node:
                    if tail:
                        walk(item, tail)
                if not tail:
                    node.clear()
            return
        if isinstance(head, int):
            if isinstance(node, list) and -len(node) <= head < len(node):
                if tail:
                    walk(node[head], tail)
                else:
                    del node[head]
            return
        if isinstance(node, dict) and head in node:
            if tail:
                walk(node[head], tail)
            else:
                del node[head]

    walk(value, tokens)


def _canonical(value: Any) -> str | None:
    """An order-insensitive fingerprint, or None when the value holds ANY (no exact fingerprint)."""
    if value is ANY:
        return None
    if isinstance(value, dict):
        parts = []
        for key in sorted(value):
            inner = _canonical(value[key])
            if inner is None:
                return None
            parts.append(json.dumps(key) + ":" + inner)
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list):
        items = []
        for item in value:
            inner = _canonical(item)
            if inner is None:
                return None
            items.append(inner)
        return "[" + ",".join(sorted(items)) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int):
        return json.dumps(value)
    if isinstance(value, float):
        # 1 and 1.0 are the same JSON number
        return json.dumps(int(value)) if value.is_integer() else json.dumps(value)
    return json.dumps(str(value))


def _short(value: Any, limit: int = 140) -> str:
    if value is ANY:
        return "<any>"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _item_key(item: Any) -> str | None:
    """How a list item is named in a diff and paired with its counterpart: its id, else its name."""
    if isinstance(item, dict):
        for key in ("id", "name", "runId", "version"):
            if key in item and item[key] is not ANY:
                return f"{key}={_short(item[key], 90)}"
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(type(value), "number")


def diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Differences between two JSON values, as `path: what` lines; [] when they match.

    Dicts: missing and extra keys, then values key by key. Lists: as multisets; items left
    unmatched are paired by id/name where possible and diffed, the rest listed."""
    where = path or "<body>"
    if expected is ANY:
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = []
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing:
            problems.append(f"{where}: missing key(s) {', '.join(map(repr, missing))}")
        if extra:
            problems.append(f"{where}: extra key(s) {', '.join(map(repr, extra))}")
        for key in expected:
            if key in actual:
                problems.extend(diff(expected[key], actual[key], f"{path}.{key}" if path else key))
        return problems
    if isinstance(expected, list) and isinstance(actual, list):
        return _diff_lists(expected, actual, path)
    if _type_name(expected) != _type_name(actual):
        return [
            f"{where}: expected {_type_name(expected)} {_short(expected)}, got {_type_name(actual)} {_short(actual)}"
        ]
    if expected != actual:
        return [f"{where}: expected {_short(expected)}, got {_short(actual)}"]
    return []


def _diff_lists(expected: list, actual: list, path: str) -> list[str]:
    where = path or "<body>"
    # 1. exact multiset matching on fingerprints
    remaining_actual: dict[str, list[int]] = {}
    for j, item in enumerate(actual):
        remaining_actual.setdefault(_canonical(item) or f"<any:{j}>", []).append(j)
    left_expected: list[int] = []
    used: set[int] = set()
    for i, item in enumerate(expected):
        fingerprint = _canonical(item)
        bucket = remaining_actual.get(fingerprint) if fingerprint is not None else None
        if bucket:
            used.add(bucket.pop())
        else:
            left_expected.append(i)
    left_actual = [j for j in range(len(actual)) if j not in used]
    if not left_expected and not left_actual:
        return []
    # 2. expected items holding ANY have no fingerprint: match them structurally
    for i in [i for i in left_expected if _canonical(expected[i]) is None]:
        for j in left_actual:
            if not diff(expected[i], actual[j]):
                left_expected.remove(i)
                left_actual.remove(j)
                break
    if not left_expected and not left_actual:
        return []
    problems = []
    if len(expected) != len(actual):
        problems.append(f"{where}: expected {len(expected)} item(s), got {len(actual)}")
    # 3. pair what is left by identity (id/name; items sharing one are paired by closeness)
    #    and diff the pairs; items without identity are paired by closeness when few
    groups_expected: dict[str | None, list[int]] = {}
    groups_actual: dict[str | None, list[int]] = {}
    for i in left_expected:
        groups_expected.setdefault(_item_key(expected[i]), []).append(i)
    for j in left_actual:
        groups_actual.setdefault(_item_key(actual[j]), []).append(j)
    unpaired_expected: list[int] = []
    unpaired_actual: list[int] = [j for key, js in groups_actual.items() if key not in groups_expected for j in js]
    for key, indices in groups_expected.items():
        candidates = groups_actual.get(key, [])
        if key is None and len(indices) * len(candidates) > _MAX_PAIRINGS:
            unpaired_expected += indices
            unpaired_actual += candidates
            continue
        pairs, rest_expected, rest_actual = _closest_pairs(expected, actual, indices, candidates)
        for i, j in pairs:
            label = key if key is not None else str(i)
            if key is not None and len(indices) > 1:
                label += f" #{i}"
            problems.extend(diff(expected[i], actual[j], f"{path}[{label}]"))
        unpaired_expected += rest_expected
        unpaired_actual += rest_actual
    for i in unpaired_expected:
        problems.append(f"{where}: expected item not found: {_short(expected[i])}")
    for j in sorted(unpaired_actual):
        problems.append(f"{where}: unexpected item: {_short(actual[j])}")
    return problems


_MAX_PAIRINGS = 400  # above this many candidate pairs, unnamed list items are listed, not paired


def _closest_pairs(expected: list, actual: list, indices: list[int], candidates: list[int]):
    """Greedily pair expected and actual items with the fewest differences first."""
    if len(indices) == 1 and len(candidates) == 1:
        return [(indices[0], candidates[0])], [], []
    costs = sorted((len(diff(expected[i], actual[j])), i, j) for i in indices for j in candidates)
    pairs, taken_i, taken_j = [], set(), set()
    for _, i, j in costs:
        if i not in taken_i and j not in taken_j:
            pairs.append((i, j))
            taken_i.add(i)
            taken_j.add(j)
    return (
        sorted(pairs),
        [i for i in indices if i not in taken_i],
        [j for j in candidates if j not in taken_j],
    )


# --------------------------------------------------------------------------------------
# Deliberate differences: where the built-in server answers otherwise on purpose


@dataclass(frozen=True)
class Expected:
    """What we answer for one step, derived from what Marquez answered."""

    status: int
    body: Any
    check_body: bool = True  # False: status class only (error answers)
    mentions: tuple[str, ...] = ()  # words our (error) body must contain


Expectation = Callable[[Step], Expected]


@dataclass(frozen=True)
class Deliberate:
    key: str  # a key of marquez.differences.DIFFERENCES
    expect: Expectation  # turns Marquez's recorded answer into ours
    note: str  # what we answer instead, in a few words


def patch_run(run_id: str, **fields: Any) -> Expectation:
    """Marquez's answer with these fields changed on every run object with this id (a dict
    with this `id` and a `state`), wherever it appears: runs lists, latestRun(s),
    createdByRun, lineage graph nodes."""

    def expect(step: Step) -> Expected:
        body = copy.deepcopy(step.response)

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("id") == run_id and "state" in node:
                    node.update(fields)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(body)
        return Expected(status=step.status, body=body)

    return expect


def field_types(types: dict[str, str]) -> Expectation:
    """Marquez's /column-lineage answer with the DATASET_FIELD nodes named in `types` (by node id)
    carrying that fieldType where Marquez says "" (it types only fields with lineage of their own)."""

    def expect(step: Step) -> Expected:
        body = copy.deepcopy(step.response)
        graph = body.get("graph") if isinstance(body, dict) else None
        for node in graph or []:
            data = node.get("data") if isinstance(node, dict) else None
            if isinstance(data, dict) and node.get("id") in types and data.get("fieldType") == "":
                data["fieldType"] = types[node["id"]]
        return Expected(status=step.status, body=body)

    return expect


def client_error(*mentions: str) -> Expectation:
    """A 4xx answer whose body names each of `mentions` (a field, say)."""

    def expect(step: Step) -> Expected:
        return Expected(status=400, body=None, check_body=False, mentions=mentions)

    return expect


# p03: job_late_start's COMPLETE (00:31) arrives before its START (00:30). Marquez's run
# state follows the last event processed, so the run stays RUNNING (#2264); ours follows
# event time: COMPLETED. Its `updatedAt` is then ours to define (Marquez shows the START's
# time, the last processed); everything else about the run must still be Marquez's.
_P03_LATE_RUN = "a1c8d393-db3c-5b2f-9a4c-3cbe1d4be956"
_P03_LATE_RUN_STEPS = (14, 17, 18, 22, 27, 28, 29, 30, 34, 45)

# x01 (conformance-external): the input columns of the column-lineage facets, typed INTEGER in
# Marquez's own answers for their datasets (steps 53 and 65), are fieldType "" in its
# /column-lineage answers (steps 177-191).
_X01_INPUT_FIELDS = {
    f"datasetField:gs://mock-bucket:{dataset}:{column}": "INTEGER"
    for dataset in ("copied.csv", "test.csv")
    for column in "abcd"
}

# (scenario, step index) -> the difference it shows, and what we answer instead.
DELIBERATE: dict[tuple[str, int], Deliberate] = {
    **{
        ("p03-run-states", i): Deliberate(
            RUN_STATE_KEY,
            patch_run(_P03_LATE_RUN, state="COMPLETED", updatedAt=ANY),
            "run state COMPLETED (event time), not RUNNING (last event processed)",
        )
        for i in _P03_LATE_RUN_STEPS
    },
    # Marquez: 500 {"code": 400, ...}. Ours: 400 naming the field (the general rule below
    # covers the other such steps; these two also check the field is named).
    ("p07-bad-input", 11): Deliberate(BAD_INPUT_KEY, client_error("eventTime"), "400 naming eventTime"),
    ("p07-bad-input", 13): Deliberate(BAD_INPUT_KEY, client_error("inputs"), "400 naming inputs"),
    **{
        ("x01-airflow", i): Deliberate(
            COLUMN_INPUT_TYPE_KEY, field_types(_X01_INPUT_FIELDS), 'input fields keep their type, not ""'
        )
        for i in range(177, 192)
    },
}

_CLIENT_ERROR_HINT = re.compile(r'"code"\s*:\s*4\d\d\b|\bHTTP 4\d\d\b|\bBad Request\b')


def is_disguised_client_error(step: Step) -> bool:
    """Marquez answered 500 for a problem its own body calls a 400-class one (its bug)."""
    if step.status != 500:
        return False
    body = step.response
    if isinstance(body, dict) and isinstance(body.get("code"), int) and 400 <= body["code"] < 500:
        return True
    text = body if isinstance(body, str) else json.dumps(body)
    return bool(_CLIENT_ERROR_HINT.search(text))


def documented_keys() -> set[str] | None:
    """Keys of marquez.differences.DIFFERENCES, or None when that module is not there (yet)."""
    try:
        from marquez.differences import DIFFERENCES
    except ImportError:
        return None
    keys = set()
    for item in DIFFERENCES:
        keys.add(item["key"] if isinstance(item, dict) else item.key)
    return keys


def used_keys() -> set[str]:
    return {BAD_INPUT_KEY} | {d.key for d in DELIBERATE.values()}


# --------------------------------------------------------------------------------------
# Replay


@dataclass
class StepResult:
    scenario: str
    index: int
    request: str
    expected_status: int
    actual_status: int | None
    ok: bool
    difference: str | None = None  # the deliberate difference this step was judged by
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Report:
    url: str
    flavor: str
    results: list[StepResult]
    scenarios: list[str]
    notes: list[str] = field(default_factory=list)

    def of(self, scenario: str | None = None) -> list[StepResult]:
        return [r for r in self.results if scenario is None or r.scenario == scenario]

    def rate(self, scenario: str | None = None) -> float:
        results = self.of(scenario)
        return sum(r.ok for r in results) / len(results) if results else 0.0

    def mismatches(self, scenario: str | None = None) -> list[StepResult]:
        return [r for r in self.of(scenario) if not r.ok]

    def summary_lines(self) -> list[str]:
        lines = [f"Marquez conformance against {self.url} (flavor {self.flavor})"]
        lines += [f"  note: {note}" for note in self.notes]
        for name in self.scenarios:
            results = self.of(name)
            ok = sum(r.ok for r in results)
            deliberate = sum(1 for r in results if r.ok and r.difference)
            extra = f", {deliberate} by deliberate difference" if deliberate else ""
            lines.append(f"  {name:<24} {ok:>4}/{len(results):<4} {self.rate(name):7.2%}{extra}")
        ok = sum(r.ok for r in self.results)
        lines.append(f"  {'overall':<24} {ok:>4}/{len(self.results):<4} {self.rate():7.2%}  (gate {GATE:.0%})")
        used = Counter(r.difference for r in self.results if r.ok and r.difference)
        if used:
            lines.append("  deliberate differences matched: " + ", ".join(f"{k} x{n}" for k, n in sorted(used.items())))
        return lines

    def format(self, max_problems: int = 25, scenario: str | None = None) -> str:
        lines = [] if scenario else self.summary_lines()
        for result in self.mismatches(scenario):
            status = f"status {result.expected_status} -> {result.actual_status}"
            by = f"  (judged as deliberate difference {result.difference})" if result.difference else ""
            lines.append("")
            lines.append(f"MISMATCH {result.scenario} step {result.index}: {result.request}")
            lines.append(f"  {status}{by}")
            shown = result.problems[:max_problems]
            lines += [f"  - {p}" for p in shown]
            if len(result.problems) > len(shown):
                lines.append(f"  ... and {len(result.problems) - len(shown)} more")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "url": self.url,
            "flavor": self.flavor,
            "rate": self.rate(),
            "gate": GATE,
            "scenarios": {name: self.rate(name) for name in self.scenarios},
            "notes": self.notes,
            "results": [asdict(r) for r in self.results],
        }


class Client:
    """Keep-alive HTTP/1.1 client that sends the recorded path byte for byte."""

    def __init__(self, url: str, timeout: float = 60.0, api_key: str | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.headers = {"Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, payload: bytes | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(payload))
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, self.prefix + path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a kept-alive connection the server closed meanwhile: retry once on a new one
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _payload(step: Step) -> bytes | None:
    if step.raw is not None:
        return step.raw.encode("utf-8")
    if step.body is not None:
        return json.dumps(step.body).encode("utf-8")
    if step.method in ("POST", "PUT", "PATCH"):
        return b""
    return None


def _decode(data: bytes) -> Any:
    if not data.strip():
        return ""
    text = data.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _status_class(status: int | None) -> int | None:
    return None if status is None else status // 100


def judge(step: Step, status: int, body: Any, flavor: str = "builtin") -> tuple[bool, str | None, list[str]]:
    """(matches, deliberate difference used, problems) for our answer to one recorded step."""
    deliberate = DELIBERATE.get((step.scenario, step.index)) if flavor == "builtin" else None
    if deliberate is None and flavor == "builtin" and is_disguised_client_error(step):
        deliberate = Deliberate(BAD_INPUT_KEY, client_error(), "4xx, where Marquez answers 500")
    if deliberate is not None:
        expected = deliberate.expect(step)
        key = deliberate.key
    else:
        expected = Expected(status=step.status, body=step.response, check_body=step.status < 400)
        key = None

    problems: list[str] = []
    if expected.status >= 400 or status >= 400:
        if _status_class(expected.status) != _status_class(status):
            problems.append(f"status: expected {expected.status // 100}xx, got {status}")
            if deliberate is not None:
                problems.append(f"deliberate difference {key}: {deliberate.note}")
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        for word in expected.mentions:
            if word not in text:
                problems.append(f"body: should name {word!r} ({key}); got {_short(body)}")
        return not problems, key, problems

    if status != expected.status:
        problems.append(f"status: expected {expected.status}, got {status}")
    if expected.check_body:
        want, got = copy.deepcopy(expected.body), copy.deepcopy(body)
        for path in step.volatile:
            drop_path(want, path)
            drop_path(got, path)
        problems.extend(diff(want, got))
    if problems and deliberate is not None:
        problems.append(f"(checked against deliberate difference {key}: {deliberate.note})")
    return not problems, key, problems


def replay(
    url: str,
    scenarios: list[Scenario] | None = None,
    *,
    flavor: str = "builtin",
    timeout: float = 60.0,
    api_key: str | None = None,
    progress: Callable[[StepResult], None] | None = None,
    directory: Path | None = None,
) -> Report:
    """Replay the scenarios, in order, against the server at `url` and judge every answer.
    Without `scenarios`, every recording in `directory` (default DATA_DIR)."""
    if flavor not in FLAVORS:
        raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
    if scenarios is None:
        scenarios = load_scenarios(directory or DATA_DIR)
    client = Client(url, timeout=timeout, api_key=api_key)
    results: list[StepResult] = []
    try:
        for scenario in scenarios:
            for step in scenario.steps:
                started = time.perf_counter()
                try:
                    status, data = client.request(step.method, step.path, _payload(step))
                except (OSError, http.client.HTTPException) as exc:
                    client.close()
                    result = StepResult(
                        step.scenario,
                        step.index,
                        step.request_line,
                        step.status,
                        None,
                        False,
                        problems=[f"request failed: {type(exc).__name__}: {exc}"],
                    )
                else:
                    ok, key, problems = judge(step, status, _decode(data), flavor)
                    result = StepResult(
                        step.scenario, step.index, step.request_line, step.status, status, ok, key, problems
                    )
                result.seconds = time.perf_counter() - started
                results.append(result)
                if progress:
                    progress(result)
    finally:
        client.close()
    return Report(url=url, flavor=flavor, results=results, scenarios=[s.name for s in scenarios])


# --------------------------------------------------------------------------------------
# Which server, and is its store empty?


def detect_flavor(url: str, timeout: float = 5.0) -> str:
    """ "builtin" when the server answers GET /healthcheck on its API port (the built-in one
    does; a real Marquez serves it only on the admin port), else "marquez"."""
    client = Client(url, timeout=timeout)
    try:
        status, _ = client.request("GET", "/healthcheck")
    except (OSError, http.client.HTTPException):
        return "marquez"
    finally:
        client.close()
    return "builtin" if status == 200 else "marquez"


def foreign_namespaces(url: str, timeout: float = 10.0, api_key: str | None = None) -> list[str]:
    """Namespaces other than `default` the store already holds (a fresh Marquez has only
    `default`). Raises if the namespace list cannot be read."""
    client = Client(url, timeout=timeout, api_key=api_key)
    try:
        status, data = client.request("GET", "/api/v1/namespaces?limit=1000")
    finally:
        client.close()
    if status != 200:
        raise RuntimeError(f"GET /api/v1/namespaces answered {status}: {data[:200]!r}")
    body = _decode(data)
    names = [ns.get("name") for ns in (body.get("namespaces") or [])] if isinstance(body, dict) else []
    return [name for name in names if name != "default"]


# --------------------------------------------------------------------------------------
# Script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.marquez.conformance",
        description="Replay the recorded Marquez 0.51.1 conversations against a server and report differences.",
    )
    parser.add_argument("--url", default=os.environ.get("MARQUEZ_URL"), help="server base URL (default: $MARQUEZ_URL)")
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="PREFIX",
        help="only scenarios whose name starts with PREFIX (repeatable), e.g. p02; others are not replayed",
    )
    parser.add_argument("--report", type=Path, help="also write the report to FILE (JSON when FILE ends in .json)")
    parser.add_argument(
        "--flavor",
        choices=("auto", *FLAVORS),
        default="auto",
        help="builtin: judge deliberate differences by our documented behaviour; marquez: by the recordings; "
        "auto (default): builtin if GET /healthcheck answers 200 on this port",
    )
    parser.add_argument("--data", type=Path, default=DATA_DIR, help=f"recordings directory (default {DATA_DIR})")
    parser.add_argument("--api-key", default=os.environ.get("MARQUEZ_API_KEY"), help="sent as Authorization: Bearer")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    parser.add_argument("--max-problems", type=int, default=25, help="diff lines shown per step (default 25)")
    parser.add_argument("--min-rate", type=float, default=GATE, help=f"exit 1 below this rate (default {GATE})")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url is required (or set MARQUEZ_URL)")
    url = args.url.rstrip("/")

    flavor = detect_flavor(url) if args.flavor == "auto" else args.flavor
    scenarios = load_scenarios(args.data, args.scenario)
    notes = []
    try:
        existing = foreign_namespaces(url, api_key=args.api_key)
    except (OSError, http.client.HTTPException, RuntimeError) as exc:
        existing = []
        notes.append(f"could not list namespaces before the replay: {exc}")
    if existing:
        notes.append(
            f"the store was not empty ({len(existing)} namespace(s), e.g. {', '.join(existing[:3])}): "
            "counts and global lists will differ; replay into an empty store"
        )
    if args.scenario:
        notes.append("a subset of scenarios: later ones expect what earlier ones stored")
    report = replay(url, scenarios, flavor=flavor, timeout=args.timeout, api_key=args.api_key)
    report.notes[:0] = notes
    text = report.format(max_problems=args.max_problems)
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        if args.report.suffix == ".json":
            args.report.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            args.report.write_text(text + "\n", encoding="utf-8")
        print(f"\nreport written to {args.report}")
    return 0 if report.rate() >= args.min_rate else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `... | head`
        sys.stderr.close()
        sys.exit(1)
