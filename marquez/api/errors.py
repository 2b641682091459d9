"""Errors answered as Marquez does: `{"code": N, "message": "..."}` (or `errors` for 422)."""

from __future__ import annotations

from marquez.service.errors import NotFound, ServiceError


class ApiError(Exception):
    """An error answer; a list of messages is answered as `{"errors": [...]}`."""

    def __init__(self, status: int, message: str | list[str]):
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.status = status
        self.message = message

    def body(self) -> dict:
        if isinstance(self.message, list):
            return {"errors": self.message}
        return {"code": self.status, "message": self.message}


def from_service(exc: ServiceError) -> ApiError:
    """A service's NotFound is a 404, anything else it refuses a 400."""
    return ApiError(404 if isinstance(exc, NotFound) else 400, str(exc))


def found(value, what: str, name: str):
    """The value, or Marquez's 404 for a missing `what` (e.g. "Dataset 'x' not found.")."""
    if value is None:
        raise ApiError(404, f"{what} '{name}' not found.")
    return value
