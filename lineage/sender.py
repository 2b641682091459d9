"""Posting OpenLineage events to a Marquez: which answers mean delivered, refused for good, or "try later".

`LineageSender.send(bodies)` posts serialized events in order and returns one verdict per event
it got an answer for, stopping at the first event it could not deliver for a reason that is not
the event's fault (the server is down, overloaded, misconfigured): later events must not
overtake it, so the caller retries from there.

- The built-in server has `POST /api/v1/lineage/batch` (a JSON array; one verdict per item).
  Real Marquez has none (404/405). The sender asks once with an empty batch, remembers the
  answer, and otherwise posts one event per request over a keep-alive session.
- 2xx: delivered. A 4xx that judges the event (400 malformed, 413 too large, 422 missing field):
  rejected, with the server's reason. Other 4xx (401/403 auth, 404/405 wrong URL, 408/429 busy)
  and 5xx, timeouts and connection errors say nothing about the event: retry later.
- A 5xx other than 502/503/504 for one event (`Verdict.server_error`) may be the event's fault
  (it breaks the server): the caller counts those and sets the event aside after a few. A whole
  batch answered so is sent again one event per request, so the events before the bad one are
  delivered and the bad one is named.

Re-sending an event whose acknowledgement was lost is harmless: the built-in server stores an
identical event only once.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Literal

import requests

from lakehouse_core.marquez import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, MarquezHttp, MarquezTarget

# A bad event fails the same way however often it is sent; these statuses judge the event itself.
EVENT_ERRORS = frozenset({400, 413, 422})
# Answers about us or the server's state (auth, timeouts, overload), not about what we asked.
NOT_NOW = frozenset({401, 403, 407, 408, 425, 429})
# 5xx that say the server (or what is in front of it) is unavailable, not that this event broke it.
UNAVAILABLE = frozenset({502, 503, 504})


def server_error(status: int | None) -> bool:
    """An error of the server's own for this request (500, 501, 505...): maybe the event's fault."""
    return status is not None and status >= 500 and status not in UNAVAILABLE


Status = Literal["delivered", "rejected", "failed"]


@dataclass(frozen=True)
class Verdict:
    index: int  # position in the bodies passed to send()
    status: Status
    detail: str | None = None  # the server's reason (rejected) or the error (failed)
    http_status: int | None = None  # the HTTP status that judged this event (None: no answer)

    @property
    def server_error(self) -> bool:
        return self.status == "failed" and server_error(self.http_status)


@dataclass
class SendOutcome:
    verdicts: list[Verdict] = field(default_factory=list)
    error: str | None = None  # set when sending stopped early at a retryable failure
    unreachable: bool = False  # the failure was a connection error or timeout (no HTTP answer)


class Unreachable(Exception):
    """No HTTP answer: refused, reset, timed out, name not resolved."""


class _NotNow(Exception):
    """An HTTP answer that means "try again later" before any event was judged."""


class LineageSender:
    """One keep-alive HTTP session to one Marquez. Not thread-safe; one per delivering thread."""

    def __init__(self, target: MarquezTarget, *, batch: bool | None = None) -> None:
        """`batch`: None asks the server once; True/False forces the batch or the one-by-one path."""
        self.target = target
        self.batch = batch
        self.http = MarquezHttp(target, user_agent="lakehouse-lineage-delivery")

    def close(self) -> None:
        self.http.close()

    def send(self, bodies: list[str], deadline: float | None = None) -> SendOutcome:
        """Post the events in order; verdicts for the leading events that got an answer.

        `deadline` (time.monotonic()): no request starts after it and none waits beyond it.
        """
        outcome = SendOutcome()
        if not bodies:
            return outcome
        try:
            if self.batch is None:
                self.batch = self._probe_batch(deadline)
            if self.batch and self._send_batch(bodies, deadline, outcome):
                return outcome
            self._send_each(bodies, deadline, outcome)
        except (Unreachable, _NotNow) as exc:
            outcome.verdicts.append(Verdict(len(outcome.verdicts), "failed", str(exc)))
            outcome.error, outcome.unreachable = str(exc), isinstance(exc, Unreachable)
        return outcome

    def answers(self, deadline: float | None = None) -> bool:
        """Whether the server answers a plain read now (GET /api/v1/namespaces?limit=1 -> 200):
        a 500 to one event while this holds is that event's fault, not an outage's."""
        connect, read = CONNECT_TIMEOUT_S, READ_TIMEOUT_S
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.05)
            connect, read = min(connect, left), min(read, left)
        try:
            return self.http.get("/api/v1/namespaces", params={"limit": 1}, timeout=(connect, read)).status_code == 200
        except requests.RequestException:
            return False

    # --- the two paths -----------------------------------------------------------------

    def _probe_batch(self, deadline: float | None) -> bool:
        """An empty batch: harmless everywhere; only the built-in server answers it with results.

        A 5xx or an auth/overload answer decides nothing (asked again next time); any other
        answer without results means there is no batch endpoint (real Marquez: 404).
        """
        response = self._post("/api/v1/lineage/batch", "[]", deadline)
        body = _json(response)
        if response.status_code == 200 and isinstance(body, dict) and "results" in body:
            return True
        if response.status_code >= 500 or response.status_code in NOT_NOW:
            raise _NotNow(_describe(response))
        return False

    def _send_batch(self, bodies: list[str], deadline: float | None, outcome: SendOutcome) -> bool:
        """True when the batch was answered as a batch; False to send these events one by one."""
        response = self._post("/api/v1/lineage/batch", "[" + ",".join(bodies) + "]", deadline)
        if response.status_code in (404, 405):  # the server changed under us: no batch endpoint any more
            self.batch = False
            return False
        if response.status_code == 413:  # the batch is too big, maybe not any one event: each gets its verdict
            return False
        if server_error(response.status_code) and len(bodies) > 1:
            # One event may have broken the whole batch: one by one, the good ones before it go
            # and the bad one gets a verdict of its own.
            return False
        results = (_json(response) or {}).get("results") if response.ok else None
        if not isinstance(results, list) or len(results) != len(bodies):
            error = _describe(response) if not response.ok else f"unexpected batch answer: {response.text[:200]!r}"
            outcome.verdicts.append(Verdict(0, "failed", error, response.status_code if not response.ok else None))
            outcome.error = error
            return True
        for index, item in enumerate(sorted(results, key=lambda r: r.get("index", 0))):
            status = int(item.get("status") or 0)
            if 200 <= status < 300:
                outcome.verdicts.append(Verdict(index, "delivered"))
            elif status in EVENT_ERRORS:
                outcome.verdicts.append(Verdict(index, "rejected", f"{status}: {_join(item.get('errors'))}"))
            else:  # the server could not take this one now: stop here, the rest waits behind it
                error = f"{status} for one event of a batch: {_join(item.get('errors'))}"
                outcome.verdicts.append(Verdict(index, "failed", error, status))
                outcome.error = error
                break
        return True

    def _send_each(self, bodies: list[str], deadline: float | None, outcome: SendOutcome) -> None:
        for index in range(len(outcome.verdicts), len(bodies)):
            if deadline is not None and time.monotonic() >= deadline:
                return
            response = self._post("/api/v1/lineage", bodies[index], deadline)
            if response.ok:
                outcome.verdicts.append(Verdict(index, "delivered"))
            elif response.status_code in EVENT_ERRORS:
                outcome.verdicts.append(Verdict(index, "rejected", _describe(response)))
            else:
                outcome.error = _describe(response)
                outcome.verdicts.append(Verdict(index, "failed", outcome.error, response.status_code))
                return

    # --- HTTP -----------------------------------------------------------------------------

    def _post(self, path: str, body: str, deadline: float | None) -> requests.Response:
        connect, read = CONNECT_TIMEOUT_S, READ_TIMEOUT_S
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.05)
            connect, read = min(connect, left), min(read, left)
        try:
            return self.http.post(path, body.encode(), timeout=(connect, read))
        except requests.Timeout as exc:
            raise Unreachable(f"no answer from Marquez at {self.target.url} within {max(connect, read):.1f}s") from exc
        except requests.RequestException as exc:  # refused, reset, DNS, TLS
            raise Unreachable(f"cannot reach Marquez at {self.target.url}: {_reason(exc)}") from exc


def _json(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _join(errors) -> str:
    if isinstance(errors, list):
        return "; ".join(str(e) for e in errors)
    return str(errors)


def _describe(response: requests.Response) -> str:
    """`422 Unprocessable Entity: producer must not be null` from Marquez's error shapes."""
    body = _json(response)
    if isinstance(body, dict) and ("errors" in body or "message" in body):
        text = _join(body.get("errors") or body.get("message"))
    else:
        text = response.text.strip()[:300] or "(empty body)"
    return f"{response.status_code} {response.reason or ''}".rstrip() + f": {text}"


def _reason(exc: BaseException) -> str:
    """The root cause of a requests error, e.g. `[Errno 111] Connection refused`, not the urllib3 prose."""
    match = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return match.group(0).strip() if match else type(exc).__name__
