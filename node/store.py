"""The one module that opens SQLCipher: this device's encrypted local database.

The database is keyed with a raw 256-bit key (no SQLCipher KDF: the key is
already uniformly random, unwrapped from the keystore by the one Argon2id
run). WAL journal, synchronous=FULL: a commit is on disk before we return.

It stores bytes and small values; it verifies nothing itself. Callers put
only verified or self-made records in, and re-verify on load anyway.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlcipher3

from node.errors import StorageError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS membership (
    id BLOB PRIMARY KEY,
    blob BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS envelopes (
    author BLOB NOT NULL,
    seq INTEGER NOT NULL,
    blob BLOB NOT NULL,
    PRIMARY KEY (author, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS plain (
    version TEXT PRIMARY KEY,
    fields TEXT NOT NULL
) WITHOUT ROWID;
"""


class Store:
    """An open, keyed SQLCipher database."""

    def __init__(self, conn: Any, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.commits = 0  # transactions this connection committed (caches key on it)
        self._durable = True  # synchronous = FULL, as _key_and_configure sets it

    @classmethod
    def open(cls, path: Path, key: bytes, create: bool = False) -> Store:
        if len(key) != 32:
            raise RuntimeError("the database key is 32 bytes")
        conn = _connect(path, create)
        try:
            _key_and_configure(conn, key)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if create:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise StorageError(f"the vault database at {path} has an unknown layout")
            if create or _missing_tables(conn):
                conn.executescript(_SCHEMA)
        except (sqlcipher3.Error, StorageError) as exc:
            conn.close()
            if create:
                path.unlink(missing_ok=True)
            if isinstance(exc, StorageError):
                raise
            if _disk_failed(exc):  # not the file: a full disk must not read as tampering
                raise StorageError(
                    f"cannot open the vault database at {path}: {exc} (is the disk full?)"
                ) from None
            raise StorageError(f"the vault database at {path} is damaged or was altered") from None
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self, durable: bool = True) -> Iterator[None]:
        """One atomic unit: all of it is saved when this exits, or none of it.

        durable (the default): on disk when this returns (WAL, synchronous=FULL), for
        anything a user is told is saved. durable=False skips the wait for the disk
        (synchronous=NORMAL): still atomic and safe from a killed process, but a power
        cut may lose the last such commits. Only for what can be had again: envelopes
        and records a peer holds durably (anti-entropy fetches them again), caches,
        the node's status.
        """
        try:
            if durable != self._durable:  # the mode stays until a transaction wants the other
                self._conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self.commits += 1
        except sqlcipher3.Error as exc:
            raise StorageError(f"could not save to the vault database {self.path}: {exc}") from None

    def data_version(self) -> int:
        """Changes whenever another connection (another program) commits to this database."""
        return int(self._query("PRAGMA data_version")[0][0])

    def get_meta(self, key: str) -> bytes | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return bytes(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: bytes) -> None:
        self._query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def add_records(self, records: Iterable[tuple[bytes, bytes]]) -> int:
        """Insert (id, blob) pairs; existing ids are left as they are. Returns new count."""
        added = 0
        for record_id, blob in records:
            before = self._conn.total_changes
            self._query(
                "INSERT OR IGNORE INTO membership (id, blob) VALUES (?, ?)", (record_id, blob)
            )
            added += self._conn.total_changes - before
        return added

    def record_count(self) -> int:
        return int(self._query("SELECT count(*) FROM membership")[0][0])

    def records(self) -> list[bytes]:
        rows = self._query("SELECT blob FROM membership ORDER BY id")
        return [bytes(row[0]) for row in rows]

    # -- the op log: every authentic envelope, by (author, seq) -------------------
    def add_envelope(self, author: bytes, seq: int, blob: bytes) -> bool:
        """Store one envelope; False if (author, seq) is already held."""
        before = self._conn.total_changes
        self._query(
            "INSERT OR IGNORE INTO envelopes (author, seq, blob) VALUES (?, ?, ?)",
            (author, seq, blob),
        )
        return bool(self._conn.total_changes > before)

    def envelope(self, author: bytes, seq: int) -> bytes | None:
        rows = self._query("SELECT blob FROM envelopes WHERE author = ? AND seq = ?", (author, seq))
        return bytes(rows[0][0]) if rows else None

    def envelopes_since(self, author: bytes, seq: int, limit: int = -1) -> list[tuple[int, bytes]]:
        """The author's envelopes after `seq`, in order (at most `limit`; -1: all)."""
        rows = self._query(
            "SELECT seq, blob FROM envelopes WHERE author = ? AND seq > ? ORDER BY seq LIMIT ?",
            (author, seq, limit),
        )
        return [(int(s), bytes(b)) for s, b in rows]

    def contiguous_seq(self, author: bytes) -> int:
        """The highest n such that envelopes 1..n of `author` are all held."""
        rows = self._query("SELECT seq FROM envelopes WHERE author = ? ORDER BY seq", (author,))
        held = 0
        for (seq,) in rows:
            if int(seq) != held + 1:
                break
            held += 1
        return held

    def vector(self) -> dict[bytes, int]:
        """For each author, the highest n such that envelopes 1..n are all held."""
        rows = self._query("SELECT author, max(seq), count(*) FROM envelopes GROUP BY author")
        out = {}
        for author, top, count in rows:
            whole = int(top) == int(count)  # sequences start at 1 and are unique
            out[bytes(author)] = int(top) if whole else self.contiguous_seq(bytes(author))
        return out

    def authors(self) -> list[bytes]:
        return [bytes(r[0]) for r in self._query("SELECT DISTINCT author FROM envelopes")]

    # -- decrypted searchable fields of versions (a cache; the store is encrypted) --
    def plain(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._query("SELECT version, fields FROM plain")}

    def put_plain(self, rows: Iterable[tuple[str, str]]) -> None:
        try:
            self._conn.executemany(
                "INSERT OR REPLACE INTO plain (version, fields) VALUES (?, ?)", rows
            )
        except sqlcipher3.Error as exc:
            raise StorageError(f"could not save to the vault database {self.path}: {exc}") from None

    def drop_plain(self, versions: Iterable[str]) -> None:
        for version in versions:
            self._query("DELETE FROM plain WHERE version = ?", (version,))

    def clear_plain(self) -> None:
        self._query("DELETE FROM plain")

    def integrity_problems(self) -> list[str]:
        """SQLCipher page HMACs plus SQLite's own structure check; [] when sound."""
        problems = [str(r[0]) for r in self._query("PRAGMA cipher_integrity_check")]
        rows = self._query("PRAGMA integrity_check")
        problems += [str(r[0]) for r in rows if r[0] != "ok"]
        return problems

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run one statement and fetch all its rows: damage often shows only when reading."""
        try:
            return list(self._conn.execute(sql, params).fetchall())
        except sqlcipher3.Error as exc:
            raise StorageError(
                f"the vault database {self.path} is damaged or was altered ({exc})"
            ) from None


def _disk_failed(exc: Exception) -> bool:
    """SQLite says the disk failed (full, or an I/O error), not what the file holds."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    return name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR")


def _missing_tables(conn: Any) -> bool:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not {"meta", "membership", "envelopes", "plain"} <= names


def _connect(path: Path, create: bool) -> Any:
    """Check the file is what `create` says it should be, then connect (no key yet)."""
    if not create and not path.is_file():
        raise StorageError(f"no vault database at {path}")
    if not create and path.stat().st_size == 0:
        # SQLCipher would quietly make a new database in an empty file.
        raise StorageError(f"the vault database {path} is empty (damaged)")
    if create and path.exists():
        raise StorageError(f"{path} already exists; refusing to overwrite it")
    try:
        if create:
            # Private to this user from the first byte (SQLite gives -wal/-shm the same mode).
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return sqlcipher3.connect(str(path), timeout=10.0, isolation_level=None)
    except OSError as exc:
        raise StorageError(f"cannot create {path}: {exc.strerror}") from None
    except sqlcipher3.Error:
        if create:
            path.unlink(missing_ok=True)
        raise StorageError(f"cannot open the vault database at {path}") from None


def _key_and_configure(conn: Any, key: bytes) -> None:
    """Key the connection (raw key, no SQLCipher KDF), prove the key works, set durability."""
    # Refuse a plain SQLite build: it would store everything in the clear.
    if not conn.execute("PRAGMA cipher_version").fetchall():
        raise StorageError("this sqlcipher3 build has no encryption; refusing to run")
    conn.execute("PRAGMA cipher_log_level = NONE")  # no decryption errors on stderr
    conn.execute("PRAGMA cipher_memory_security = ON")
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails on a wrong key
    conn.execute("PRAGMA journal_mode = WAL").fetchone()
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
