"""Delivering the outbox to Marquez: `deliver_once`, the `follow` loop, and a run's final `flush`.

Order: events go out in outbox sequence order, which keeps each run's events in the order they
were emitted. An event that cannot be delivered now (Marquez down, 5xx, timeout) stops the pass:
nothing after it may overtake it. It is marked `failed` with the error and retried later, from
the same place. An event Marquez refuses for good (a 4xx judging the event) is marked `rejected`
with the reason and the pass goes on. An event the server answers with an error of its own (500,
not 502/503/504) MAX_SERVER_ERRORS times in a row is set aside as `failed` (it would wedge the
producer for ever), and the pass goes on, provided the server answers a plain read at that moment
(a server failing on everything is an outage, not the event's fault: nothing is set aside); `lineage status` shows it, `lineage replay --failed`
sends it again.

Only what the server acknowledged is marked delivered. If an acknowledgement is lost (crash,
timeout after the server stored it), the event is sent again, which the built-in server ignores.

One deliverer at a time per outbox: a pass holds an exclusive file lock next to the outbox, so
the background loop, a run's flush and `lineage replay` never send the same events side by side.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lakehouse_core.marquez import MarquezTarget, resolve
from lakehouse_core.settings import get_settings
from lineage.outbox import Outbox, OutboxEvent
from lineage.sender import LineageSender

log = logging.getLogger(__name__)

CHUNK_EVENTS = 500
# Consecutive 500-like answers to one event before it is set aside as `failed`.
MAX_SERVER_ERRORS = 5
# Well under the built-in server's 16 MiB body cap; a bigger batch only delays the first answer.
CHUNK_BYTES = 4 * 1024 * 1024
POLL_S = 0.5
BACKOFF_START_S, BACKOFF_MAX_S = 0.5, 30.0
# While Marquez stays down, the same error is logged again at most this often.
REPEAT_LOG_S = 600.0


@dataclass
class DeliveryResult:
    delivered: int = 0
    rejected: int = 0
    failed: int = 0  # attempts that failed and stopped the pass (0 or 1)
    set_aside: int = 0  # events set aside as `failed` in this pass (the server kept failing on them)
    remaining: int = 0  # events still owed after the pass (pending + failed)
    error: str | None = None  # why the pass stopped early
    unreachable: bool = False  # ... and it was because no HTTP answer came
    busy: bool = False  # another process was delivering this outbox; nothing was sent
    timed_out: bool = False  # the deadline ended the pass with events still owed

    @property
    def settled(self) -> int:
        return self.delivered + self.rejected


def deliver_once(
    outbox: Outbox,
    target: MarquezTarget,
    max_events: int | None = None,
    *,
    sender: LineageSender | None = None,
    batch: bool | None = None,
    chunk_events: int = CHUNK_EVENTS,
    deadline: float | None = None,
    lock_wait_s: float | None = None,
    progress: Callable[[int], None] | None = None,
    max_server_errors: int = MAX_SERVER_ERRORS,
) -> DeliveryResult:
    """Deliver owed events, oldest first, until none is left, `max_events` were settled, a
    retryable failure stops the pass, or `deadline` (time.monotonic()) passes. Never raises for
    delivery failures; they are recorded in the outbox and in the result.

    `batch`: None uses the batch endpoint when the server has it; False forces one event per
    request. `sender` lets a loop keep its HTTP session and what it learned about the server.
    `lock_wait_s`: how long to wait for another deliverer (default: until `deadline`, else 30 s).
    `progress(n)` is called after each chunk with the number of events settled.
    `max_server_errors`: consecutive 500-like answers to one event before it is set aside.
    """
    own_sender = sender is None
    sender = sender or LineageSender(target, batch=batch)
    result = DeliveryResult()
    if lock_wait_s is None:
        lock_wait_s = max(deadline - time.monotonic(), 0.0) if deadline is not None else 30.0
    try:
        with _delivery_lock(outbox, lock_wait_s) as locked:
            if not locked:
                result.busy = True
            else:
                _pass(outbox, sender, result, max_events, chunk_events, deadline, progress, max_server_errors)
    finally:
        if own_sender:
            sender.close()
    result.remaining = outbox.counts().undelivered
    result.timed_out = bool(deadline is not None and result.remaining and time.monotonic() >= deadline)
    return result


def _pass(outbox, sender, result, max_events, chunk_events, deadline, progress, max_server_errors) -> None:
    while max_events is None or result.settled < max_events:
        if deadline is not None and time.monotonic() >= deadline:
            return
        limit = chunk_events if max_events is None else min(chunk_events, max_events - result.settled)
        chunk = _cap_bytes(outbox.pending(limit))
        if not chunk:
            return
        outcome = sender.send([e.body for e in chunk], deadline)
        delivered = [chunk[v.index].seq for v in outcome.verdicts if v.status == "delivered"]
        outbox.mark_delivered(delivered)
        for v in outcome.verdicts:
            if v.status == "rejected":
                outbox.mark_rejected(chunk[v.index].seq, v.detail or "rejected")
                log.info("lineage event %s set aside: Marquez refused it: %s", chunk[v.index].seq, v.detail)
            elif v.status == "failed":
                # Only the event at the head of what is still owed is marked: it is what blocks the
                # queue. Those behind it were neither acknowledged nor refused; they stay pending.
                seq = chunk[v.index].seq
                set_aside_after: int | None = max_server_errors
                if v.server_error:
                    before = outbox.get(seq)
                    if (
                        before is not None
                        and before.server_errors + 1 >= max_server_errors
                        and not sender.answers(deadline)
                    ):
                        # The server fails on everything (an outage answering 500): not this event's fault.
                        set_aside_after = None
                if outbox.mark_failed(
                    seq, v.detail or "failed", server_error=v.server_error, max_server_errors=set_aside_after
                ):
                    result.set_aside += 1
                    log.warning(
                        "lineage event %s set aside as failed: Marquez answered %d times: %s",
                        seq,
                        max_server_errors,
                        v.detail,
                    )
        rejected = sum(1 for v in outcome.verdicts if v.status == "rejected")
        result.delivered += len(delivered)
        result.rejected += rejected
        if progress is not None and (delivered or rejected):
            progress(len(delivered) + rejected)
        if outcome.error is not None:
            stopped_at = outbox.get(chunk[outcome.verdicts[-1].index].seq) if outcome.verdicts else None
            if stopped_at is not None and stopped_at.set_aside_at:
                continue  # the event that stopped the pass is set aside: the others go on
            result.failed += 1
            result.error, result.unreachable = outcome.error, outcome.unreachable
            return
        if len(outcome.verdicts) < len(chunk):  # the deadline cut the chunk short
            return


def _cap_bytes(events: list[OutboxEvent]) -> list[OutboxEvent]:
    """The leading events whose bodies fit in one request (at least one, however big)."""
    total = 0
    for i, event in enumerate(events):
        total += len(event.body) + 1
        if total > CHUNK_BYTES and i > 0:
            return events[:i]
    return events


@contextmanager
def _delivery_lock(outbox: Outbox, wait_s: float) -> Iterator[bool]:
    """An exclusive flock on `<outbox>.deliver-lock`, waited for up to `wait_s`; yields whether held.

    The kernel releases it when the holder dies, so a killed deliverer never blocks the next one.
    """
    path = outbox.path.with_name(outbox.path.name + ".deliver-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        give_up = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the loop ------------------------------------------------------------------------------


def follow(
    outbox: Outbox | None = None,
    target: MarquezTarget | None = None,
    *,
    stop: threading.Event | None = None,
    batch: bool | None = None,
    poll_s: float = POLL_S,
    backoff_max_s: float = BACKOFF_MAX_S,
) -> None:
    """Deliver until `stop` is set: whenever events appear (checked every ~50 ms, at least every
    `poll_s`), and after a failure again with exponential backoff (0.5 s doubling, capped)."""
    outbox = outbox or Outbox()
    target = target or resolve()
    stop = stop or threading.Event()
    sender = LineageSender(target, batch=batch)
    backoff, last_logged, last_error = 0.0, 0.0, None
    log.info("delivering %s to %s (%s)", outbox.path, target.url, target.source)
    try:
        while not stop.is_set():
            try:
                result = deliver_once(outbox, target, sender=sender, lock_wait_s=poll_s)
            except Exception as exc:  # e.g. the outbox file is locked or unreadable: keep the loop alive
                result = DeliveryResult(error=f"{type(exc).__name__}: {exc}")
            if result.delivered:
                log.info("delivered %d events; %d owed", result.delivered, result.remaining)
            if result.rejected:
                log.warning("set aside %d events Marquez refused for good (see `lineage status`)", result.rejected)
            if result.set_aside:
                log.warning(
                    "set aside %d events Marquez kept failing on (5xx); see `lineage status`, `lineage replay --failed`",
                    result.set_aside,
                )
            if result.error is None:
                if last_error is not None:
                    log.info("Marquez at %s answers again", target.url)
                backoff, last_error = 0.0, None
                if not result.busy and result.remaining and result.settled:
                    continue  # more owed than one pass took (new events kept coming): go on at once
                _wait_for_news(outbox, stop, poll_s)
                continue
            backoff = min(max(backoff * 2, BACKOFF_START_S), backoff_max_s)
            if result.error != last_error or time.monotonic() - last_logged >= REPEAT_LOG_S:
                log.warning(
                    "lineage delivery to %s failed: %s; %d events owed; retrying with backoff up to %.0fs",
                    target.url, result.error, result.remaining, backoff_max_s,
                )  # fmt: skip
                last_logged = time.monotonic()
            last_error = result.error
            stop.wait(backoff)
    finally:
        sender.close()
        log.info("delivery stopped")


def _wait_for_news(outbox: Outbox, stop: threading.Event, poll_s: float) -> None:
    """Sleep up to `poll_s`, waking early when the outbox files change (an append writes the WAL).

    Our own status updates change them too: that costs one empty pass, not a missed event.
    """
    before = _signature(outbox.path)
    give_up = time.monotonic() + poll_s
    while time.monotonic() < give_up:
        if stop.wait(0.05) or _signature(outbox.path) != before:
            return


def _signature(path: Path) -> tuple:
    out: list[tuple[int, int] | None] = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


# --- the end of a run ------------------------------------------------------------------------


def flush(
    timeout_s: float = 2.0, *, outbox: Outbox | None = None, target: MarquezTarget | None = None
) -> DeliveryResult | None:
    """Try to deliver what is owed within `timeout_s`; for the end of a Dagster run.

    Never raises and never waits much beyond the budget. At most one warning per call when
    events stay behind (they wait in the outbox for the delivery loop or `lineage replay`).
    Returns the result, or None when delivery could not even be tried.
    """
    deadline = time.monotonic() + timeout_s
    try:
        outbox = outbox or Outbox()
        target = target or resolve()
        result = deliver_once(outbox, target, deadline=deadline)
    except Exception as exc:  # a broken outbox or configuration must not fail the run
        log.warning("lineage events not flushed to Marquez: %s: %s", type(exc).__name__, exc)
        return None
    problems = []
    if result.error is not None or (result.timed_out and not result.busy):
        problems.append(
            f"{result.remaining} events wait in the outbox {outbox.path} "
            f"({result.error or f'not all delivered within {timeout_s:g}s'}); "
            "the delivery loop (`lakehouse up`) or `lineage replay` delivers them"
        )
    if result.rejected:
        problems.append(f"{result.rejected} events refused by Marquez were set aside (see `lineage status`)")
    if result.set_aside:
        problems.append(
            f"{result.set_aside} events Marquez kept failing on were set aside as failed (see `lineage status`)"
        )
    if problems:
        log.warning("lineage: %s", "; ".join(problems))
    return result


# --- strict mode ------------------------------------------------------------------------------


class LineageNotDelivered(RuntimeError):
    """Strict mode: events emitted so far were not all acknowledged by Marquez within the deadline."""


def strict_deadline_s() -> float | None:
    """Seconds a run may wait for its lineage to be delivered (LAKEHOUSE_LINEAGE_STRICT_S), or
    None when strict mode is off (unset, empty, 0 or `off`). A value that is not a number is a
    configuration error (ValueError from the settings), said at once rather than silently
    turning strict mode off."""
    return get_settings().lineage_strict_s


def require_delivered(
    deadline_s: float, *, outbox: Outbox | None = None, target: MarquezTarget | None = None
) -> DeliveryResult:
    """Strict mode: deliver every event emitted up to now within `deadline_s`, or raise
    LineageNotDelivered saying how many are owed and why. Shares the outbox with the delivery
    loop (whichever holds the lock delivers; this waits and checks again)."""
    outbox = outbox or Outbox()
    target = target or resolve()
    head = outbox.last_seq()
    deadline = time.monotonic() + deadline_s
    sender = LineageSender(target)
    result, owed = DeliveryResult(), outbox.owed_through(head)
    try:
        while owed:
            if time.monotonic() >= deadline:
                break
            step = deliver_once(outbox, target, sender=sender, deadline=deadline, lock_wait_s=min(0.5, deadline_s))
            result.delivered += step.delivered
            result.rejected += step.rejected
            result.error = step.error or result.error
            owed = outbox.owed_through(head)
            if owed and step.error is not None:
                time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))
    finally:
        sender.close()
    result.remaining = owed
    if owed:
        last = outbox.last_error()
        why = result.error or (last.last_error if last else None) or "no acknowledgement in time"
        raise LineageNotDelivered(
            f"strict lineage (LAKEHOUSE_LINEAGE_STRICT_S={deadline_s:g}): {owed} events emitted so far are not in Marquez at "
            f"{target.url} after {deadline_s:g}s: {why}. They wait in the outbox {outbox.path}."
        )
    return result
