"""Small files written durably and read with a size cap: keystores, kits, requests, welcomes.

A write goes to a fresh temp file in the same folder, is fsynced, then renamed
(or linked, when the name must not exist yet), and the folder is fsynced, so a
crash leaves either the old file or the new one, never half of one. This
module knows nothing of what the bytes mean.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from node.errors import StorageError


def write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet, durably; never replaces an existing file."""
    _write(path, data, replace=False)


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file, fsync, rename, fsync the folder: never half a file."""
    _write(path, data, replace=True)


def read_capped(path: Path, limit: int, what: str) -> bytes:
    """Read a whole file that must not exceed `limit` bytes, without reading more."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise StorageError(f"cannot read the {what} {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise StorageError(f"{path} is too large to be a {what}")
    return data


def _write(path: Path, data: bytes, replace: bool) -> None:
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror}") from None
    tmp = Path(name)
    try:
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked (a nearly full disk)
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name exists: no check-then-write race
            tmp.unlink()
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"{path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {exc.strerror}") from None
