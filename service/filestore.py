"""Content-addressed storage of uploaded files under ``Settings.uploads_dir``.

A file is stored once, as ``{sha256}.{format}``: the name never comes from the client, so it is
always safe. Uploads are received into a temporary file in the same directory (hashing and
counting on the way, stopping at the size limit) and moved into place with an atomic rename, so a
reader never sees a half-written file and a rejected upload leaves nothing behind.

A gzip upload (``.csv.gz``, recognised by its magic bytes, not its name) is decompressed while it
is received and stored decompressed: the hash, the size and the limit are those of the table, so
the same table gzipped or not is one dataset, and a small file that expands without end (a
"gzip bomb") is stopped at ``max_bytes`` of output without ever holding more than a chunk.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from service.errors import InvalidUploadError, PayloadTooLargeError

__all__ = ["FileStore", "ReceivedFile"]

_CHUNK = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def _gunzip(compressed: Iterable[bytes]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip stream (all its members), at most ``_CHUNK`` at a time.

    Raises:
        InvalidUploadError: not valid gzip, or cut off before its end.
    """
    decompressor = zlib.decompressobj(wbits=31)
    try:
        for chunk in compressed:
            data = chunk
            while data:
                if decompressor.eof:  # another member follows (``cat a.gz b.gz``)
                    decompressor = zlib.decompressobj(wbits=31)
                yield decompressor.decompress(data, _CHUNK)
                data = decompressor.unconsumed_tail or decompressor.unused_data
        # Output can still be pending when the input ended with a highly compressed block.
        while not decompressor.eof and (tail := decompressor.decompress(b"", _CHUNK)):
            yield tail
    except zlib.error as e:
        raise InvalidUploadError(f"the file is not valid gzip: {e}") from None
    if not decompressor.eof:
        raise InvalidUploadError("the gzip file is cut off before its end; upload it again")


@dataclass(frozen=True)
class ReceivedFile:
    """A fully received upload in a temporary file, with its hash and size."""

    path: Path
    sha256: str
    size_bytes: int


class FileStore:
    """Files named by content hash in one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str, file_format: str) -> Path:
        """Where the file with this hash and format is (or would be) stored."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / f"{sha256}.{file_format}"

    @contextlib.contextmanager
    def receive(self, stream: BinaryIO, *, max_bytes: int) -> Iterator[ReceivedFile]:
        """Copy ``stream`` into a temporary file, removed when the block ends unless stored.

        A gzip stream is decompressed on the way (see the module docstring).

        Raises:
            PayloadTooLargeError: the stream, or what it decompresses to, is over ``max_bytes``.
            InvalidUploadError: a broken gzip stream.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".upload-", suffix=".part")
        path = Path(name)
        try:
            digest = hashlib.sha256()
            size = 0
            raw = self._limited(stream, max_bytes)
            first = next(raw, b"")
            compressed = first.startswith(_GZIP_MAGIC)
            chunks = itertools.chain([first], raw)
            with os.fdopen(fd, "wb") as out:
                for chunk in _gunzip(chunks) if compressed else chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLargeError(
                            f"the upload decompresses to more than the limit of {max_bytes} "
                            "bytes (WARMSTART_MAX_UPLOAD_BYTES)"
                        )
                    digest.update(chunk)
                    out.write(chunk)
            yield ReceivedFile(path=path, sha256=digest.hexdigest(), size_bytes=size)
        finally:
            path.unlink(missing_ok=True)

    @staticmethod
    def _limited(stream: BinaryIO, max_bytes: int) -> Iterator[bytes]:
        size = 0
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLargeError(
                    f"the upload is larger than the limit of {max_bytes} bytes "
                    "(WARMSTART_MAX_UPLOAD_BYTES)"
                )
            yield chunk

    def store(self, received: ReceivedFile, file_format: str) -> tuple[Path, bool]:
        """Move a received file into place; returns the path and whether it was newly stored."""
        target = self.path_for(received.sha256, file_format)
        if target.exists():
            return target, False
        os.replace(received.path, target)
        return target, True

    def remove(self, sha256: str, file_format: str) -> None:
        """Delete a stored file (used to undo a store whose database row could not be written)."""
        self.path_for(sha256, file_format).unlink(missing_ok=True)
