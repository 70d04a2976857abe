"""node.files: the durable writes and capped reads every small file goes through.

Keystores, recovery kits, join requests and welcome files are written by
`write_new` (the name must not exist yet) or `atomic_write` (replace), and
read by `read_capped`. Threats covered: a crash or a full disk never leaves
half a file or a stray temp file, and the old file survives a failed
replace; `write_new` never replaces whatever holds the name (a file, a
dangling symlink, or a file made by a racing writer); both writes fsync the
file and its folder; new files are private to their owner; a read never
takes more than its cap (even from an endless file) and says what it
expected. Every failure is a one-line `StorageError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from node import crypto, files
from node.errors import StorageError

DATA = b"sealed keystore bytes"
Write = Callable[[Path, bytes], None]
BOTH_WRITES = pytest.mark.parametrize(
    "write", [files.write_new, files.atomic_write], ids=["write_new", "atomic_write"]
)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def assert_one_line(exc: BaseException) -> None:
    message = str(exc)
    assert message
    assert "\n" not in message


def test_atomic_write_creates_and_replaces_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "bob.welcome"
    for data in (b"first", b"second, longer", b""):
        files.atomic_write(path, data)
        assert path.read_bytes() == data
        if os.name == "posix":
            assert path.stat().st_mode & 0o077 == 0
        path.chmod(0o644)
    assert names(tmp_path) == ["bob.welcome"], "temp file left behind"


@BOTH_WRITES
def test_short_writes_are_completed_and_file_and_folder_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Write
) -> None:
    """os.write may write less than asked (a nearly full disk): the loop writes the rest.
    Then the file and its folder are fsynced (the new name must survive a crash too)."""
    real_write, real_fsync = os.write, os.fsync
    synced: list[bool] = []

    def dribble(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data[:7]))

    def fsync(fd: int) -> None:
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "write", dribble)
    monkeypatch.setattr(os, "fsync", fsync)
    data = crypto.random_bytes(1000)
    write(tmp_path / "file", data)
    assert (tmp_path / "file").read_bytes() == data
    assert len(synced) >= 2
    if os.path.isdir("/proc/self/fd"):
        assert set(synced) == {False, True}, "the file or the folder was not synced"


@BOTH_WRITES
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Write
) -> None:
    path = tmp_path / "file"
    if write is files.atomic_write:
        path.write_bytes(b"old")

    def disk_full(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(StorageError, match="No space left") as info:
        write(path, b"new")
    assert_one_line(info.value)
    assert names(tmp_path) == (["file"] if write is files.atomic_write else [])
    if write is files.atomic_write:
        assert path.read_bytes() == b"old"


def test_atomic_write_onto_a_folder_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "inside").write_bytes(b"kept")
    with pytest.raises(StorageError):
        files.atomic_write(tmp_path / "dir", b"data")
    assert names(tmp_path) == ["dir"]
    assert (tmp_path / "dir" / "inside").read_bytes() == b"kept"


@pytest.mark.parametrize("size", [0, 1, 99, 100])
def test_read_capped_reads_a_file_up_to_the_limit(tmp_path: Path, size: int) -> None:
    data = crypto.random_bytes(size)
    (tmp_path / "f").write_bytes(data)
    assert files.read_capped(tmp_path / "f", 100, "welcome file") == data


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("101-bytes", "too large to be a welcome file"),
        ("endless", "too large to be a welcome file"),  # read limit + 1 bytes, then stop
        ("missing", "cannot read the welcome file"),
        ("folder", "cannot read the welcome file"),
    ],
)
def test_read_capped_refuses_what_is_not_a_small_file(
    tmp_path: Path, kind: str, message: str
) -> None:
    path = {"endless": Path("/dev/zero")}.get(kind, tmp_path / "f")
    if kind == "endless" and not path.exists():
        pytest.skip("needs /dev/zero")
    if kind == "101-bytes":
        path.write_bytes(b"x" * 101)
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(StorageError, match=message) as info:
        files.read_capped(path, 100, "welcome file")
    assert_one_line(info.value)


# -- write_new never replaces; failures leave nothing behind ------------------------------
@pytest.mark.parametrize("taken_by", ["file", "dangling-symlink", "file-made-during-the-write"])
def test_write_new_never_replaces_what_holds_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken_by: str
) -> None:
    """No check-then-write (os.link fails if the name exists), and no writing through links."""
    path, target = tmp_path / "keystore", tmp_path / "elsewhere"
    if taken_by == "file":
        path.write_bytes(b"precious")
    elif taken_by == "dangling-symlink":
        path.symlink_to(target)
    else:
        real_link = os.link

        def racing_link(src: Any, dst: Any, **kwargs: Any) -> None:
            Path(dst).write_bytes(b"precious")  # another writer wins the race
            real_link(src, dst, **kwargs)

        monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(StorageError) as info:
        files.write_new(path, DATA)
    assert_one_line(info.value)
    assert not target.exists()
    if taken_by != "dangling-symlink":
        assert path.read_bytes() == b"precious"
    assert names(tmp_path) == ["keystore"], "temp file left behind"


@BOTH_WRITES
def test_write_into_a_missing_folder_is_a_storage_error(tmp_path: Path, write: Write) -> None:
    with pytest.raises(StorageError):
        write(tmp_path / "no-such-dir" / "keystore", DATA)


@BOTH_WRITES
def test_a_stale_temp_file_does_not_block_a_write(tmp_path: Path, write: Write) -> None:
    """A temp file left by a crashed earlier run that had the same process id."""
    (tmp_path / f"keystore.{os.getpid()}.tmp").write_bytes(b"half")
    write(tmp_path / "keystore", b"whole")
    assert (tmp_path / "keystore").read_bytes() == b"whole"
