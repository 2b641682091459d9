"""Query and path parameters, checked: a bad one answers 400 naming it (Marquez: 500 or ignored)."""

from __future__ import annotations

import datetime as dt
import uuid

from marquez.api.errors import ApiError
from marquez.model.events import EventError, parse_time

MAX_LIMIT = 1000


def int_param(query, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    value = query.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"query param {name} must be an integer, got {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ApiError(400, f"query param {name} must be {bound}, got {number}")
    return number


def page(query, default: int = 100, maximum: int = MAX_LIMIT) -> tuple[int, int]:
    """`limit` and `offset`."""
    return int_param(query, "limit", default, 0, maximum), int_param(query, "offset", 0, 0)


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
