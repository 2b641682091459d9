"""Every limit the server enforces, in one place; each is checked before an event is acknowledged.

Sizes are in bytes of UTF-8, never characters: what Postgres indexes is bytes, and a btree index
entry holds at most 2,704 bytes (about a third of an 8 KiB page), so a name four times longer in
bytes than in characters would be acknowledged and then fail to be projected.
A request over a limit is refused with a 4xx that names the field or parameter at fault.
"""

from __future__ import annotations

# -- the request ------------------------------------------------------------------------------
# The body cap (413 above); Marquez accepts large events, 16 MiB covers dbt's biggest.
MAX_BODY_BYTES = 16 * 1024 * 1024
# Events in one POST /lineage/batch (413 above).
MAX_BATCH = 5000

# -- an event's shape -------------------------------------------------------------------------
# JSON nesting (objects and arrays) of one event. Real facets nest under 15 levels; deep nesting
# only exhausts the parser and the hashing (orjson serialises at most 254 levels).
MAX_JSON_DEPTH = 64
# Datasets on each side of an event (inputs, outputs).
MAX_DATASETS = 1000
# Fields of one dataset's schema facet, and fields of one columnLineage facet.
MAX_FIELDS = 10_000

# -- names (index keys) -----------------------------------------------------------------------
# Every name that becomes an index key: namespace, job, dataset, field, source (dataSource.name),
# tag, the parent job's namespace and name. The OpenLineage spec says 1,024; we count bytes.
MAX_NAME_BYTES = 1024
# A job under a parent is filed as `<parent>.<job>`; namespace + that full name share one index
# entry (UNIQUE (namespace_name, name)), which must stay under Postgres's 2,704 bytes.
MAX_JOB_KEY_BYTES = 2600

# -- event times ------------------------------------------------------------------------------
# An event further in the future than this is refused (a START in 9999 would leave its run
# RUNNING for ever); past times are welcome. Configurable: MARQUEZ_MAX_FUTURE_SECONDS.
DEFAULT_MAX_FUTURE_SECONDS = 24 * 3600

# -- backpressure -----------------------------------------------------------------------------
# While more events than this wait for the projector, an acknowledgement is held (the event is
# stored already) until the projector catches up, at most BACKPRESSURE_MAX_WAIT_S: producers slow
# down to what is applied instead of running minutes ahead of every read. Configurable:
# MARQUEZ_MAX_PENDING_EVENTS (0: never held).
DEFAULT_MAX_PENDING_EVENTS = 100
BACKPRESSURE_MAX_WAIT_S = 2.0

# -- query parameters -------------------------------------------------------------------------
MAX_LIMIT = 1000  # `limit` of list endpoints (events/lineage: MAX_EVENTS_LIMIT)
MAX_EVENTS_LIMIT = 10_000
MAX_OFFSET = 2**31 - 1  # `offset` (Postgres takes bigint; nobody pages two billion rows)
MAX_GRAPH_DEPTH = 100  # `depth` of /lineage and /column-lineage
MAX_QUERY_TEXT_BYTES = 1024  # `q` of /search, names in query parameters

# -- time-outs --------------------------------------------------------------------------------
BODY_READ_TIMEOUT_S = 30.0  # a request body must arrive within this (a stalled upload is dropped)


def utf8_len(text: str) -> int:
    """Bytes of `text` in UTF-8 (lone surrogates counted as the 3 bytes they would take)."""
    return len(text.encode("utf-8", "surrogatepass"))
