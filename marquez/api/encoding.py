"""Compressed request bodies: `Content-Encoding: gzip`, as the OpenLineage clients send events
when configured with `compression: gzip` (Python `HttpConfig`, Java `HttpConfig.compression`).

Marquez (Dropwizard) inflates such bodies; so do we, incrementally and with the body cap applied
to the decompressed size: a small body that inflates past the cap (a gzip bomb) is refused with
413 as soon as the cap is passed, holding at most the cap in memory. Any other encoding is
refused with 415 naming it.
"""

from __future__ import annotations

import zlib

from marquez.api.errors import ApiError

# `x-gzip` is gzip (RFC 9110 8.4.1.3); `identity` means not encoded.
GZIP_NAMES = frozenset({"gzip", "x-gzip"})
IDENTITY = "identity"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer, not a raw zlib stream


def codings(header: str | None) -> list[str]:
    """The content codings a `Content-Encoding` header lists, lower-case, `identity` dropped."""
    if not header:
        return []
    return [c for c in (part.strip().lower() for part in header.split(",")) if c and c != IDENTITY]


def decoder_for(header: str | None, cap: int) -> GzipBody | None:
    """A decoder for the body (None: the body is not encoded), or 415 for an encoding we do not
    take (anything but one layer of gzip)."""
    listed = codings(header)
    if not listed:
        return None
    if len(listed) == 1 and listed[0] in GZIP_NAMES:
        return GzipBody(cap)
    shown = ", ".join(listed)[:100]
    raise ApiError(415, f"Content-Encoding {shown!r} is not supported: send the body plain or as one layer of gzip")


class GzipBody:
    """Inflates a gzip body fed in chunks; refuses (413) once the output passes `cap` bytes.
    Concatenated gzip members are read one after another, as `gzip.decompress` does."""

    def __init__(self, cap: int):
        self.cap = cap
        self.size = 0
        self.parts: list[bytes] = []
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._fed = False

    def feed(self, data: bytes) -> None:
        if data:
            self._fed = True
        while data:
            if self._inflater.eof:  # the previous member ended: padding, or the next member
                data = data.lstrip(b"\x00")
                if not data:
                    return
                self._inflater = zlib.decompressobj(_GZIP_WBITS)
            # One byte more than the room left: getting it means the cap is passed.
            try:
                out = self._inflater.decompress(data, self.cap - self.size + 1)
            except zlib.error as exc:
                raise ApiError(400, f"the gzip-encoded body cannot be decompressed: {exc}") from None
            self.size += len(out)
            if self.size > self.cap:
                raise ApiError(413, f"request body over {self.cap} bytes once decompressed")
            self.parts.append(out)
            data = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail

    def finish(self) -> bytes:
        if self._fed and not self._inflater.eof:
            raise ApiError(400, "the gzip-encoded body is truncated (its gzip stream does not end)")
        return b"".join(self.parts)
