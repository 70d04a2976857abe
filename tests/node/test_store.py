"""node.store: the SQLCipher database of one device.

Threats covered (SECURITY_TESTS.md item 5): the file on disk is encrypted,
not plain SQLite; a wrong key, an empty, truncated, random or plain-SQLite
file, or one flipped page is reported as a one-line `StorageError`, never a
crash, a raw sqlcipher3 exception or a hang, and the message promises nothing
that does not exist (no re-sync from other PCs). A 0-byte file is refused and
left at 0 bytes (SQLCipher would quietly make a database in it); the file is
created 0600; a sqlcipher3 without encryption is refused. Also the durability
settings (WAL, synchronous=FULL) and the all-or-nothing transaction that every
change goes through. The other files (keystore, kits, requests, welcomes) go
through node/files.py: see test_files.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3

from node import crypto
from node.errors import StorageError
from node.store import Store

PAGE = 4096  # SQLCipher 4 default page size
SQLITE_MAGIC = b"SQLite format 3\x00"


@contextlib.contextmanager
def no_hang(seconds: int = 20) -> Iterator[None]:
    """Fail (rather than hang CI) if the body takes longer than `seconds`; POSIX only."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise AssertionError(f"hung for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def key() -> bytes:
    return crypto.random_bytes(32)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "vault.db"


def rid(n: int) -> bytes:
    return n.to_bytes(16, "big")


def make_filled(path: Path, key: bytes, count: int = 100) -> list[bytes]:
    """A closed database spanning many pages; returns the blobs it holds, in id order."""
    blobs = [crypto.random_bytes(300) for _ in range(count)]
    with Store.open(path, key, create=True) as store, store.transaction():
        store.set_meta("user", b"alice")
        assert store.add_records((rid(i), b) for i, b in enumerate(blobs)) == count
    return blobs


def assert_one_line(exc: BaseException) -> None:
    """One line, and no promise of a repair that does not exist (nothing re-syncs yet)."""
    message = str(exc)
    assert message
    assert "\n" not in message
    assert not re.search(r"rebuil|re-?sync|other PCs|peers", message, re.IGNORECASE), message


def open_fails(path: Path, key: bytes) -> StorageError:
    """Opening must fail with a clear StorageError, quickly."""
    with no_hang(), pytest.raises(StorageError) as info:
        Store.open(path, key).close()
    assert_one_line(info.value)
    return info.value


def damage_surfaces(path: Path, key: bytes) -> bool:
    """True if opening, reading or the integrity check reports the damage.

    Every read is tried on its own: each must succeed or raise StorageError.
    Any other exception escapes and fails the test.
    """
    with no_hang():
        try:
            store = Store.open(path, key)
        except StorageError as exc:
            assert_one_line(exc)
            return True
        refused = 0
        problems: list[str] = []
        with store:
            for read in (store.records, lambda: store.get_meta("user")):
                try:
                    read()
                except StorageError as exc:
                    assert_one_line(exc)
                    refused += 1
            try:
                problems = store.integrity_problems()
            except StorageError as exc:
                assert_one_line(exc)
                refused += 1
        return refused > 0 or bool(problems)


# -- normal use -----------------------------------------------------------------------


def test_create_then_open_with_the_right_key(db_path: Path, key: bytes) -> None:
    blobs = make_filled(db_path, key, count=3)
    with Store.open(db_path, key) as store:
        assert store.records() == blobs
        assert store.get_meta("user") == b"alice"
        assert store.get_meta("absent") is None
        assert store.integrity_problems() == []


def test_database_file_is_not_plain_sqlite(db_path: Path, key: bytes) -> None:
    """At rest the file is ciphertext: no SQLite header, no record bytes in clear."""
    blobs = make_filled(db_path, key, count=5)
    data = db_path.read_bytes()
    assert data[:16] != SQLITE_MAGIC
    assert b"alice" not in data
    for blob in blobs:
        assert blob[:16] not in data
    plain = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            plain.execute("SELECT * FROM sqlite_master").fetchall()
    finally:
        plain.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_database_files_are_private_to_their_owner(db_path: Path, key: bytes) -> None:
    with Store.open(db_path, key, create=True) as store, store.transaction():
        store.add_records([(rid(1), b"one")])
        for path in db_path.parent.iterdir():
            assert path.stat().st_mode & 0o077 == 0, path.name


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_database_is_created_0600_whatever_the_umask(db_path: Path, key: bytes) -> None:
    old = os.umask(0)
    try:
        Store.open(db_path, key, create=True).close()
    finally:
        os.umask(old)
    assert db_path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("reopen", [False, True], ids=["created", "reopened"])
def test_wal_journal_and_full_sync(db_path: Path, key: bytes, reopen: bool) -> None:
    store = Store.open(db_path, key, create=True)
    if reopen:
        store.close()
        store = Store.open(db_path, key)
    with store:
        assert store._query("PRAGMA journal_mode")[0][0] == "wal"
        assert store._query("PRAGMA synchronous")[0][0] == 2


def test_committed_transaction_survives_reopen(db_path: Path, key: bytes) -> None:
    with Store.open(db_path, key, create=True) as store, store.transaction():
        store.add_records([(rid(1), b"one")])
        store.set_meta("k", b"v")
    with Store.open(db_path, key) as store:
        assert store.records() == [b"one"]
        assert store.get_meta("k") == b"v"


class Boom(Exception):
    pass


def test_transaction_that_raises_leaves_nothing_behind(db_path: Path, key: bytes) -> None:
    with Store.open(db_path, key, create=True) as store:
        with store.transaction():
            store.add_records([(rid(1), b"kept")])
        with pytest.raises(Boom), store.transaction():
            store.add_records([(rid(2), b"half"), (rid(3), b"applied")])
            store.set_meta("k", b"v")
            raise Boom
        assert store.records() == [b"kept"]
        assert store.get_meta("k") is None
        with store.transaction():  # the connection is usable again
            store.add_records([(rid(4), b"after")])
    with Store.open(db_path, key) as store:
        assert store.records() == [b"kept", b"after"]
        assert store.get_meta("k") is None


def test_add_records_ignores_duplicates(db_path: Path, key: bytes) -> None:
    """A record id is its content hash: the first copy stays, a replay changes nothing."""
    with Store.open(db_path, key, create=True) as store, store.transaction():
        assert store.add_records([(rid(1), b"a"), (rid(2), b"b")]) == 2
        assert store.add_records([(rid(1), b"overwrite?"), (rid(3), b"c")]) == 1
        assert store.add_records([(rid(4), b"d"), (rid(4), b"d2")]) == 1
        assert store.add_records([]) == 0
        assert store.records() == [b"a", b"b", b"c", b"d"]


def test_records_come_back_in_id_order(db_path: Path, key: bytes) -> None:
    with Store.open(db_path, key, create=True) as store, store.transaction():
        store.add_records([(rid(3), b"3"), (rid(1), b"1"), (rid(2), b"2")])
        assert store.records() == [b"1", b"2", b"3"]


def test_create_refuses_an_existing_file(db_path: Path, key: bytes) -> None:
    db_path.write_bytes(b"someone else's file")
    with pytest.raises(StorageError):
        Store.open(db_path, key, create=True)
    assert db_path.read_bytes() == b"someone else's file"


def test_create_refuses_an_existing_database(db_path: Path, key: bytes) -> None:
    blobs = make_filled(db_path, key, count=2)
    with pytest.raises(StorageError):
        Store.open(db_path, crypto.random_bytes(32), create=True)
    with Store.open(db_path, key) as store:
        assert store.records() == blobs


def test_open_without_create_does_not_make_a_file(db_path: Path, key: bytes) -> None:
    with pytest.raises(StorageError):
        Store.open(db_path, key)
    assert not db_path.exists()


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_key_of_the_wrong_size_is_a_programming_error(db_path: Path, size: int) -> None:
    with pytest.raises(RuntimeError):
        Store.open(db_path, b"k" * size, create=True)
    assert not db_path.exists()


# -- damaged or foreign files (item 5) ---------------------------------------------------


def test_wrong_key_is_refused(db_path: Path, key: bytes) -> None:
    make_filled(db_path, key, count=3)
    before = db_path.read_bytes()
    open_fails(db_path, crypto.random_bytes(32))
    assert db_path.read_bytes() == before
    with Store.open(db_path, key) as store:  # and the right key still works after
        assert len(store.records()) == 3


def test_empty_file_is_refused_and_stays_empty(db_path: Path, key: bytes) -> None:
    """SQLCipher would quietly make a new database in a 0-byte file; we must not."""
    db_path.write_bytes(b"")
    for attempt_key in (key, crypto.random_bytes(32)):
        assert "empty" in str(open_fails(db_path, attempt_key))
    assert db_path.stat().st_size == 0
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["vault.db"]


def test_create_refuses_an_existing_empty_file(db_path: Path, key: bytes) -> None:
    db_path.write_bytes(b"")
    with pytest.raises(StorageError):
        Store.open(db_path, key, create=True)
    assert db_path.stat().st_size == 0


def test_plain_sqlite_build_is_refused(
    db_path: Path, key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sqlcipher3 built without encryption would store everything in the clear."""
    make_filled(db_path, key, count=1)
    before = db_path.read_bytes()
    monkeypatch.setattr(sqlcipher3, "connect", sqlite3.connect)
    assert "encryption" in str(open_fails(db_path, key))
    assert db_path.read_bytes() == before


@pytest.mark.parametrize(
    "keep", [1, 100, PAGE - 1, PAGE, 2 * PAGE, 0.5, -1], ids=lambda k: f"keep-{k}"
)
def test_truncated_file_is_refused(db_path: Path, key: bytes, keep: float) -> None:
    make_filled(db_path, key)
    data = db_path.read_bytes()
    if isinstance(keep, float):
        size = int(len(data) * keep) // PAGE * PAGE  # whole pages: the nastiest cut
    elif keep < 0:
        size = len(data) + keep
    else:
        size = keep
    db_path.write_bytes(data[:size])
    assert damage_surfaces(db_path, key)


@pytest.mark.parametrize("size", [1, 100, PAGE, 8 * PAGE])
def test_random_bytes_are_refused(db_path: Path, key: bytes, size: int) -> None:
    db_path.write_bytes(crypto.random_bytes(size))
    open_fails(db_path, key)


def test_plain_sqlite_file_is_refused(db_path: Path, key: bytes) -> None:
    """An unencrypted database dropped in place of ours (e.g. to feed us records)."""
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
        "CREATE TABLE membership (id BLOB PRIMARY KEY, blob BLOB NOT NULL);"
        "INSERT INTO membership VALUES (x'01', x'02');"
        "PRAGMA user_version = 1;"
    )
    conn.commit()
    conn.close()
    assert db_path.read_bytes()[:16] == SQLITE_MAGIC
    open_fails(db_path, key)


@pytest.mark.parametrize("page", [0, 1, 2, 3, 5, -1], ids=lambda p: f"page-{p}")
@pytest.mark.parametrize("where", [0, 100, PAGE - 1], ids=lambda w: f"byte-{w}")
def test_flipped_page_is_surfaced(db_path: Path, key: bytes, page: int, where: int) -> None:
    """One flipped byte in any page: refused at open, on read, or by the integrity check."""
    make_filled(db_path, key)
    data = bytearray(db_path.read_bytes())
    pages = len(data) // PAGE
    assert pages > 6
    index = page % pages
    data[index * PAGE + where] ^= 0x01
    db_path.write_bytes(bytes(data))
    assert damage_surfaces(db_path, key)


def test_flipped_first_page_fails_at_open(db_path: Path, key: bytes) -> None:
    make_filled(db_path, key)
    data = bytearray(db_path.read_bytes())
    data[PAGE // 2] ^= 0x80
    db_path.write_bytes(bytes(data))
    open_fails(db_path, key)


def test_a_folder_in_place_of_the_file_is_refused(db_path: Path, key: bytes) -> None:
    db_path.mkdir()
    open_fails(db_path, key)
