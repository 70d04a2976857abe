"""Making and joining devices: found an office, recover it, and the new PC's two steps.

Each function leaves either a complete device or nothing: a failure half-way
removes the files it made. Time is passed in; nothing here prompts or prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from node import crypto, files, invites, joining, keystore, records, recovery, tokens
from node.datadir import RECOVERY_KIT, DataDir
from node.errors import PeerError, StorageError
from node.identity import Identity, check_name
from node.keystore import KdfProfile, Secrets
from node.office import META_ROOT, META_USER, Office, open_device
from node.records import Genesis
from node.store import Store
from node.tokens import Role


@dataclass(frozen=True)
class Created:
    office: Office
    recovery_code: str
    kit_path: Path


def create_office(
    path: Path,
    office_name: str,
    admin: str,
    password: bytearray,
    now: int,
    profile: KdfProfile,
    kit_path: Path | None = None,
) -> Created:
    """`vault-admin init`: a new office, its root key, and its first admin device.

    Order matters for a crash: the records, then the recovery kit, then the
    keystore (the mark of a finished device). The kit is on disk before
    anyone can use the office, so no office exists without one.
    """
    check_name(office_name, "office name")
    check_name(admin)
    datadir = DataDir(path)
    kit_path = kit_path or path / RECOVERY_KIT
    if kit_path.exists():
        raise StorageError(f"{kit_path} already exists; refusing to overwrite it")
    datadir.prepare_new()
    root = crypto.SigningKeyPair.generate()
    secrets = Secrets.generate(root_seed=root.seed)
    identity = Identity.from_secrets(secrets)
    made: list[Path] = []
    with new_device_files(datadir, secrets, password, profile, admin, root.public, made) as store:
        office = Office(datadir, store, identity, root.public)
        genesis = office.sign_root([], now, Genesis(office_name, root.public))
        enroll = office.admit(
            identity.request(admin), Role.ADMIN, now, [records.record_id(genesis)]
        )
        first = [genesis, enroll]
        office.commit([*first, office.rotation(now, office.stage(first))])
        code = recovery.new_code()
        kit = recovery.Kit(office.office_id, office_name, root.seed, genesis)
        files.write_new(kit_path, recovery.seal(kit, code))
        made.append(kit_path)
    return Created(office, code, kit_path)


def recover_office(
    kit_data: bytes,
    code: str,
    path: Path,
    admin: str,
    password: bytearray,
    now: int,
    profile: KdfProfile,
) -> Office:
    """`vault-admin recover`: a new admin device made by the root key in the kit."""
    check_name(admin)
    kit = recovery.open_kit(kit_data, code)
    root = crypto.SigningKeyPair.from_seed(kit.root_seed)
    if tokens.office_id_of(root.public) != kit.office_id:
        raise StorageError("the recovery kit is inconsistent")
    datadir = DataDir(path)
    datadir.prepare_new()
    secrets = Secrets.generate(root_seed=root.seed)
    identity = Identity.from_secrets(secrets)
    with new_device_files(datadir, secrets, password, profile, admin, root.public) as store:
        office = Office(datadir, store, identity, root.public)
        if office.stage([kit.genesis]).genesis is None:
            raise StorageError("the recovery kit's genesis record is not valid")
        enroll = office.admit(
            identity.request(admin), Role.ADMIN, now, [records.record_id(kit.genesis)]
        )
        office.commit([kit.genesis, enroll])
    return office


def new_device(
    path: Path,
    user: str,
    password: bytearray,
    profile: KdfProfile,
    deliver: Callable[[bytes], None],
) -> Identity:
    """The new PC's half of joining: make device keys and hand a join request to `deliver`.

    If `deliver` fails, the half-made device is removed again.
    """
    check_name(user)
    datadir = DataDir(path)
    datadir.prepare_new()
    secrets = Secrets.generate()
    identity = Identity.from_secrets(secrets)
    with new_device_files(datadir, secrets, password, profile, user, None) as store:
        store.close()
        deliver(identity.request(user))
    return identity


def accept_welcome(
    path: Path, password: bytearray, profile: KdfProfile, welcome_data: bytes, code_text: str
) -> Office:
    """The new PC's second half: check the welcome against the invite code, pin the
    office root, and take the membership log."""
    code = invites.parse_code(code_text)
    welcome = joining.read_welcome(welcome_data)
    datadir, store, identity = open_device(path, password, profile)
    try:
        user = (store.get_meta(META_USER) or b"").decode("utf-8", "replace")
        joining.check_welcome(welcome, code.secret, identity.request(user))
        pinned = store.get_meta(META_ROOT)
        if pinned is not None and pinned != welcome.root_public:
            raise PeerError("this welcome is from another office than the one this PC joined")
        office = Office(datadir, store, identity, welcome.root_public)
        staged = office.fold([*office.blobs, *welcome.records])
        if staged.state.active(identity.device_id) is None:
            raise PeerError("the welcome file does not enrol this PC")
        # Keep every record that verifies, valid or not: valid ones may name
        # the others as parents.
        keep = set(staged.valid) | set(staged.invalid)
        with store.transaction():
            store.add_records(
                (r, b) for b in welcome.records if (r := records.record_id(b)) in keep
            )
            store.set_meta(META_ROOT, welcome.root_public)
        office.reload()
    except BaseException:
        store.close()
        raise
    return office


@contextlib.contextmanager
def new_device_files(
    datadir: DataDir,
    secrets: Secrets,
    password: bytearray,
    profile: KdfProfile,
    user: str,
    root_public: bytes | None,
    also_made: list[Path] | None = None,
) -> Iterator[Store]:
    """Create the database, let the caller fill it, then write the keystore last.

    The keystore marks a finished device: a crash before it leaves a database
    no one can open, which `DataDir.prepare_new` reports. An error removes
    everything made here (and the files listed in `also_made`).
    """
    sealed = keystore.seal(secrets, password, profile)  # the slow part, before any file
    store = Store.open(datadir.database, secrets.db_key, create=True)
    try:
        with store.transaction():
            store.set_meta(META_USER, user.encode())
            if root_public is not None:
                store.set_meta(META_ROOT, root_public)
        yield store
        files.write_new(datadir.keystore, sealed)
    except BaseException:
        store.close()
        datadir.remove_partial()
        for path in also_made or []:
            path.unlink(missing_ok=True)
        raise
