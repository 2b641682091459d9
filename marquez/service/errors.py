"""What a service answers instead of a result: the thing asked for is missing, or the ask is invalid."""

from __future__ import annotations


class ServiceError(Exception):
    """The message is the client's: it names what is wrong, as Marquez words it."""


class NotFound(ServiceError):
    pass


class Invalid(ServiceError):
    pass
