"""Content-addressed storage of uploaded files under ``Settings.uploads_dir``.

A file is stored once, as ``{sha256}.{format}``: the name never comes from the client, so it is
always safe. Uploads are received into a temporary file in the same directory (hashing and
counting on the way, stopping at the size limit) and moved into place with an atomic rename, so a
reader never sees a half-written file and a rejected upload leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from service.errors import PayloadTooLargeError

__all__ = ["FileStore", "ReceivedFile"]

_CHUNK = 1024 * 1024


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

        Raises:
            PayloadTooLargeError: the stream is longer than ``max_bytes``.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".upload-", suffix=".part")
        path = Path(name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLargeError(
                            f"the upload is larger than the limit of {max_bytes} bytes "
                            "(WARMSTART_MAX_UPLOAD_BYTES)"
                        )
                    digest.update(chunk)
                    out.write(chunk)
            yield ReceivedFile(path=path, sha256=digest.hexdigest(), size_bytes=size)
        finally:
            path.unlink(missing_ok=True)

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
