"""Query and path parameters, checked: a bad one answers 400 naming it (Marquez: 500 or ignored)."""

from __future__ import annotations

import datetime as dt
import uuid

from marquez import limits
from marquez.api.errors import ApiError
from marquez.model.events import EventError, parse_time

MAX_LIMIT = limits.MAX_LIMIT


def int_param(query, name: str, default: int, minimum: int = 0, maximum: int = limits.MAX_OFFSET) -> int:
    """An integer query parameter within [minimum, maximum] (every one is bounded: Postgres
    takes at most a bigint)."""
    value = query.get(name)
    if value is None or value == "":
        return default
    text = value.strip()
    if len(text) > 20 or not text.lstrip("+-").isascii() or not text.lstrip("+-").isdigit():
        raise ApiError(400, f"query param {name} must be an integer, got {value[:40]!r}")
    number = int(text)
    if number < minimum or number > maximum:
        raise ApiError(400, f"query param {name} must be between {minimum} and {maximum}, got {text}")
    return number


def page(query, default: int = 100, maximum: int = MAX_LIMIT) -> tuple[int, int]:
    """`limit` and `offset`."""
    return int_param(query, "limit", default, 0, maximum), int_param(query, "offset", 0, 0, limits.MAX_OFFSET)


def required(query, name: str) -> str:
    value = query.get(name)
    if not value:
        # Marquez's validation error shape (422-style list), with status 400.
        raise ApiError(400, [f"query param {name} must not be null"])
    return value


def run_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ApiError(400, f"run id must be a UUID, got {text!r}") from None


def time_param(query, name: str) -> dt.datetime | None:
    value = query.get(name)
    if not value:
        return None
    try:
        return parse_time(value, f"query param {name}")
    except EventError as exc:
        raise ApiError(400, exc.errors[0]) from None


def states(query, *names: str) -> list[str] | None:
    """Run states listed in the (repeatable) parameters, upper-cased; None for none."""
    found = [s.strip().upper() for name in names for s in query.getlist(name) if s]
    return found or None
