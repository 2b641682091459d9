"""Marquez's name-based version identifiers, reproduced exactly so our ids equal real Marquez's.

Marquez derives dataset and job versions with Java's `UUID.nameUUIDFromBytes` (MD5, version 3)
over colon-joined parts, nulls skipped. Verified against the conformance recordings.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

# RFC 4122 URL namespace: Marquez names placeholder parent runs under it.
_NAMESPACE_URL = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


def name_uuid(data: bytes) -> uuid.UUID:
    """Java's UUID.nameUUIDFromBytes."""
    digest = bytearray(hashlib.md5(data).digest())
    digest[6] = (digest[6] & 0x0F) | 0x30
    digest[8] = (digest[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(digest))


def _join(*parts: str | None) -> str:
    return ":".join(p for p in parts if p is not None)


def dataset_version(
    namespace: str,
    source_name: str,
    name: str,
    physical_name: str,
    fields: list[dict] | None,
    lifecycle_state: str,
    run_uuid: uuid.UUID,
) -> uuid.UUID:
    # Marquez collects (name, TYPE, description) triples into a sorted set.
    triples = sorted(
        {(f.get("name"), str(f["type"]).upper() if f.get("type") is not None else None, f.get("description"))
         for f in fields or []},
        key=lambda t: tuple("" if x is None else x for x in t),
    )  # fmt: skip
    joined_fields = ":".join(_join(*t) for t in triples)
    text = _join(namespace, source_name, name, physical_name, None, joined_fields, lifecycle_state, str(run_uuid))
    return name_uuid(text.encode())


def schema_version(namespace: str, name: str, fields: list[dict] | None) -> uuid.UUID:
    """The id of a dataset version's schema: its namespace, name and (name, type) pairs."""
    ordered = sorted(fields or [], key=lambda f: (f.get("name") or "", str(f.get("type") or "")))
    pairs = ":".join(_join(f.get("name"), None if f.get("type") is None else str(f["type"])) for f in ordered)
    return name_uuid(f"{namespace}:{name}:{pairs}".encode())


def job_version(
    namespace: str,
    job_name: str,
    inputs: Iterable[tuple[str, str]],
    outputs: Iterable[tuple[str, str]],
    location: str | None,
) -> uuid.UUID:
    def ids(pairs: Iterable[tuple[str, str]]) -> str:
        return ":".join(f"{ns}:{name}" for ns, name in sorted(set(pairs)))

    return name_uuid(_join(namespace, job_name, ids(inputs), ids(outputs), location).encode())


def run_uuid(run_id: str) -> uuid.UUID:
    """A runId that is not a UUID is accepted and named from its bytes, as Marquez does."""
    try:
        return uuid.UUID(run_id)
    except ValueError:
        return name_uuid(run_id.encode())


def placeholder_parent_run(namespace: str, parent_job: str, parent_run_id: str) -> uuid.UUID:
    """The run Marquez files under a parent job named only in a facet (recording p09)."""
    return name_uuid(_NAMESPACE_URL.bytes + f"{namespace}.{parent_job}.{parent_run_id}".encode())
