"""Bounded decompression: every reader opens gzip files and zip members through this module.

A compressed file is refused, with one line naming it, as soon as what it has inflated to passes
either limit (both per file: a zip's members, nested zips included, share their archive's budget):

- `settings.ingest_max_inflated_mb` decompressed bytes (default 4 GB; the largest real inputs, PubMed
  baseline and openFDA bulk parts, inflate to ~150-250 MB);
- `settings.ingest_max_ratio` decompressed / compressed bytes (default 100), checked once a file has
  inflated past RATIO_CHECK_AFTER bytes: the corpora here compress 3-8x, a gzip of blank lines
  10,000x.

Decompression is streamed in chunks of at most CHUNK bytes, so the check runs before memory is
spent, never after. The limits of the running ingest come from `use_limits(settings)` (the ingest
driver sets them); outside an ingest the defaults of Settings apply.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from medcite.errors import InputError
from medcite.numbers import format_number
from medcite.settings import Settings

CHUNK = 1 << 20
INPUT_PIECE = 1 << 16
RATIO_CHECK_AFTER = 16 << 20
MB = 1 << 20


class InflateLimitError(InputError):
    """A compressed file inflates past the size or ratio limit (a decompression bomb, or a file too
    large for this deployment): the rest of the file is not read."""


@dataclass(frozen=True)
class InflateLimits:
    """The decompression budget of one file."""

    max_bytes: int
    max_ratio: float
    ratio_after: int = RATIO_CHECK_AFTER

    @classmethod
    def from_settings(cls, settings: Settings) -> "InflateLimits":
        """Return the limits of `settings` (ingest_max_inflated_mb, ingest_max_ratio)."""
        return cls(max_bytes=int(settings.ingest_max_inflated_mb * MB), max_ratio=float(settings.ingest_max_ratio))


_LIMITS: ContextVar[InflateLimits] = ContextVar("medcite_inflate_limits", default=InflateLimits.from_settings(Settings()))


@contextmanager
def use_limits(settings: Settings):
    """Apply the decompression limits of `settings` to the readers run inside the block."""
    token = _LIMITS.set(InflateLimits.from_settings(settings))
    try:
        yield
    finally:
        _LIMITS.reset(token)


class Meter:
    """Counts the bytes one file has inflated to and raises InflateLimitError past a limit."""

    def __init__(self, source: str, compressed_bytes: int, limits: InflateLimits | None = None):
        self.source = source
        self.compressed = max(1, compressed_bytes)
        self.limits = limits or _LIMITS.get()
        self.inflated = 0

    def add(self, n: int) -> None:
        """Count `n` more decompressed bytes."""
        self.inflated += n
        lim = self.limits
        if self.inflated > lim.max_bytes:
            raise InflateLimitError(
                self.source, f"decompresses to more than {format_number(lim.max_bytes / MB)} MB; refused "
                f"(limit MEDCITE_INGEST_MAX_INFLATED_MB); split the file or raise the limit")
        if self.inflated > lim.ratio_after and self.inflated / self.compressed > lim.max_ratio:
            raise InflateLimitError(
                self.source, f"{format_number(self.compressed)} compressed bytes inflate more than "
                f"{format_number(lim.max_ratio)}-fold (a decompression bomb?); refused (limit MEDCITE_INGEST_MAX_RATIO)")


class _MeteredReader(io.RawIOBase):
    """A read-only binary stream over a decompressing stream that reports every byte to a Meter."""

    def __init__(self, inner: BinaryIO, meter: Meter):
        self._inner = inner
        self.meter = meter

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._inner.read(min(len(buffer), CHUNK))
        n = len(data)
        buffer[:n] = data
        self.meter.add(n)
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


def metered(inner: BinaryIO, meter: Meter) -> BinaryIO:
    """Return `inner` (a decompressing stream) as a buffered stream whose bytes `meter` counts."""
    return io.BufferedReader(_MeteredReader(inner, meter), buffer_size=64 * 1024)


def is_gzip_name(path: Path | str) -> bool:
    """Return True when the file name says gzip (.gz)."""
    return str(path).lower().endswith(".gz")


def open_binary(path: Path) -> BinaryIO:
    """Return `path` opened for binary reading, gunzipped under the limits when it ends in .gz."""
    import gzip

    path = Path(path)
    if not is_gzip_name(path):
        return open(path, "rb")
    meter = Meter(str(path), path.stat().st_size)
    return metered(gzip.GzipFile(path, "rb"), meter)


def open_text(path: Path, encoding: str = "utf-8") -> io.TextIOWrapper:
    """Return `path` opened as text (gunzipped under the limits when it ends in .gz)."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding)


def archive_meter(path: Path) -> Meter:
    """Return the Meter shared by every member of the zip archive at `path`."""
    return Meter(str(path), Path(path).stat().st_size)


def open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, meter: Meter) -> BinaryIO:
    """Return one member of a zip archive as a stream counted by the archive's meter."""
    return metered(zf.open(info), meter)


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, meter: Meter) -> bytes:
    """Return the bytes of one zip member, refused (InflateLimitError) past the archive's limits."""
    with open_member(zf, info, meter) as fh:
        return fh.read()


def gunzip_chunks(fh: BinaryIO, meter: Meter, on_truncated: type[Exception]) -> Iterator[bytes]:
    """Yield the decompressed bytes of a (possibly multi-member) gzip stream in chunks of at most
    CHUNK bytes; raise `on_truncated` after the last bytes if the stream stops before its end marker."""
    # Compressed input goes in small pieces: what a call leaves (the rest of a member, the next
    # members) is copied by zlib on every call, so big pieces would copy quadratically.
    yield from inflate_pieces(iter(lambda: fh.read(INPUT_PIECE), b""), 16 + zlib.MAX_WBITS, meter.add, on_truncated)


def inflate_pieces(pieces: Iterable[bytes], wbits: int, count: Callable[[int], None],
                   on_truncated: type[Exception]) -> Iterator[bytes]:
    """Yield the decompressed bytes of zlib/gzip/deflate data given in pieces, CHUNK bytes at most
    at a time; `count(n)` sees every output chunk before it is yielded (it raises to stop). Gzip
    members follow one another; `on_truncated` is raised if the data stops inside one."""
    d = zlib.decompressobj(wbits)
    fed = False  # has the current member's decompressor seen any input?
    for piece in pieces:
        data, full = piece, False
        # a full output chunk may leave more output inside zlib: ask again until it comes up short
        while data or full:
            fed = True
            out = d.decompress(data, CHUNK)
            full = len(out) == CHUNK
            if out:
                count(len(out))
                yield out
            if d.eof:  # member finished; the next member (if any) starts in unused_data
                data, full = d.unused_data, False
                d = zlib.decompressobj(wbits)
                fed = False
            else:
                data = d.unconsumed_tail
    if fed and not d.eof:
        raise on_truncated()
