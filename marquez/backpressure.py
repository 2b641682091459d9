"""Backpressure: an acknowledgement is held while the projector is far behind.

POST /lineage answers once the event is stored; the projector applies it later. Left alone, many
producers get acknowledged faster than the events are applied, the backlog grows for as long as
they keep sending, and every read of recent lineage waits or answers stale. So while more than
`limit` events wait (`MARQUEZ_MAX_PENDING_EVENTS`), each acknowledgement of a write is held until
the backlog is back under it, at most `max_wait_s`: producers slow to what is applied, nothing is
refused or lost (the event is durable before the wait), and a producer is never held for long.

The wait is in the event loop (no worker thread held, so reads go on). The backlog is counted
only when the last count plus the acknowledgements since could be over the limit, and then at
most once per request or per POLL_S, shared by every waiting request.
"""

from __future__ import annotations

import asyncio
import logging
import time

from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from marquez.storage.db import Connection
from marquez.storage.projector import pending_at_most

POLL_S = 0.02
log = logging.getLogger("marquez.backpressure")


class Backlog:
    def __init__(self, pool: ConnectionPool[Connection], limit: int, max_wait_s: float):
        self.pool = pool
        self.limit = limit
        self.max_wait_s = max_wait_s
        self._pending = 0  # as last counted
        self._stored_since = 0  # acknowledgements asked for since: the count is at most this much low
        self._counted_at = float("-inf")
        self._lock = asyncio.Lock()

    def _count(self) -> int:
        with self.pool.connection() as conn:
            return pending_at_most(conn, self.limit + 1)

    async def _over(self) -> bool:
        async with self._lock:
            if self._stored_since or time.monotonic() - self._counted_at >= POLL_S:
                self._stored_since = 0
                self._pending = await run_in_threadpool(self._count)
                self._counted_at = time.monotonic()
            return self._pending > self.limit

    async def hold(self, stored: int = 1) -> float:
        """Called once `stored` events (at most) are stored: wait while the backlog is over the
        limit (at most max_wait_s); the seconds waited. Far under the limit it costs no query.
        Never fails: the events are stored, so when the backlog cannot be counted (the database
        just went away) the acknowledgement goes out unheld."""
        if self.limit <= 0:
            return 0.0
        self._stored_since += stored
        if self._pending + self._stored_since <= self.limit:
            return 0.0
        started = time.monotonic()
        try:
            while await self._over():
                waited = time.monotonic() - started
                if waited >= self.max_wait_s:
                    return waited
                await asyncio.sleep(POLL_S)
        except Exception as exc:  # the events are stored: see the docstring
            log.warning("backlog not counted, acknowledging without holding: %s: %s", type(exc).__name__, exc)
        return time.monotonic() - started
