"""Where the built-in server deliberately answers differently from Marquez 0.51.1, and why.

This is the one list; each entry is asserted by a test (the conformance replay checks our
behaviour at the recorded steps, `tests/marquez/test_differences.py` the rest).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    key: str
    marquez: str
    ours: str
    reason: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        key="bad-input-400",
        marquez="malformed JSON, a bad timestamp or a mistyped field answer 500 (body says code 400)",
        ours="400 with a message that names the field",
        reason="the client sent bad input; a 5xx tells retrying clients to try again forever",
    ),
    Difference(
        key="run-state-by-event-time",
        marquez="a run's state follows the last event processed: a START arriving after its COMPLETE leaves it RUNNING (#2264)",
        ours="the state follows event time: the later event wins, a terminal state wins a tie",
        reason="outboxes and retries deliver out of order; a finished run must not look running",
    ),
    Difference(
        key="sources-list",
        marquez="GET /api/v1/sources answers 500 once the default source exists",
        ours="the list of sources",
        reason="a bug",
    ),
    Difference(
        key="idempotent-events",
        marquez="the same event posted twice is stored twice (and counted twice in /events/lineage)",
        ours="an event identical to a stored one is acknowledged (201) and not stored again",
        reason="replaying an outbox after a lost acknowledgement must be harmless",
    ),
    Difference(
        key="batch-ingest",
        marquez="no bulk ingest (#2918)",
        ours="POST /api/v1/lineage/batch takes a JSON array and answers per event",
        reason="replaying a backlog one request per event is slow",
    ),
    Difference(
        key="bad-query-400",
        marquez="unparseable query parameters (limit=abc) answer 500 or are ignored",
        ours="400 naming the parameter",
        reason="the caller made the mistake; say which",
    ),
)

BY_KEY = {d.key: d for d in DIFFERENCES}
