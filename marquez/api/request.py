"""What a handler receives: the path's parameters, the query, the body, and the store."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import QueryParams

from marquez.storage.session import Store


@dataclass
class ApiRequest:
    params: dict[str, str]  # from the path, each segment decoded on its own
    query: QueryParams
    body: bytes
    store: Store  # handed to the service functions, which open the transactions
    max_future_s: float | None = None  # events further in the future are refused
