"""Where a device keeps its files, and the per-user default location.

A data dir holds exactly two files that matter: `keystore.ovk` (the sealed
device keys) and `vault.db` (SQLCipher). Nothing here reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from node.errors import StorageError

KEYSTORE = "keystore.ovk"
DATABASE = "vault.db"
RECOVERY_KIT = "recovery-kit.ovkit"


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("OfficeVault", appauthor=False))


@dataclass(frozen=True)
class DataDir:
    path: Path

    @property
    def keystore(self) -> Path:
        return self.path / KEYSTORE

    @property
    def database(self) -> Path:
        return self.path / DATABASE

    def require_existing(self) -> None:
        if not self.path.is_dir():
            raise StorageError(
                f"no OfficeVault data folder at {self.path} "
                "(run 'vault-admin init' or 'officevault request' first, or pass --data-dir)"
            )
        if not self.keystore.is_file():
            raise StorageError(f"{self.path} holds no OfficeVault keystore")
        if not self.database.is_file():
            raise StorageError(f"{self.path} holds a keystore but no vault database")

    def prepare_new(self) -> None:
        """Make the folder (private to this user) if needed; refuse one already in use."""
        if self.keystore.exists():
            raise StorageError(
                f"{self.path} already holds an OfficeVault device; refusing to overwrite it"
            )
        if self.database.exists():
            raise StorageError(
                f"{self.path} holds a vault database but no keystore (an interrupted setup?); "
                "without keystore.ovk it can never be opened: delete vault.db and try again"
            )
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {self.path}: {exc.strerror}") from None

    def wipe(self, reason: str) -> None:
        """Destroy this device's vault (a revoked device): overwrite, then delete, both files.

        Leaves a short note saying why. Overwriting is best effort (SSDs and
        journaling file systems may keep old blocks); SQLCipher encryption is
        the real protection.
        """
        for path in (self.database, self.keystore):
            for suffix in ("-wal", "-shm", ""):
                target = path.with_name(path.name + suffix)
                try:
                    size = target.stat().st_size
                    with target.open("r+b") as fh:
                        fh.write(bytes(size))
                        fh.flush()
                        os.fsync(fh.fileno())
                except OSError:
                    pass
                target.unlink(missing_ok=True)
        (self.path / "REVOKED.txt").write_text(
            f"This PC's OfficeVault device was revoked by an admin and its vault was wiped.\n"
            f"Reason given: {reason or '(none)'}\n"
        )

    def remove_partial(self) -> None:
        """Undo a creation that failed half-way (only our own two files)."""
        for path in (self.keystore, self.database):
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            for tmp in self.path.glob(f"{path.name}.*.tmp"):
                tmp.unlink(missing_ok=True)
