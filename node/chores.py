"""The elected admin node's chores, sans-IO: the runner and the fault simulator share them.

- `checkpoint`: sign what this node holds and send it to every online peer,
  unless the newest checkpoint already says the same.
- `rotate`: make a new vault key when the newest one was sealed to a device
  revoked since (two admins acted at once; the revoking admin already
  rotated for its own revocations).

Neither decides whether this node leads, nor when: the caller does.
"""

from __future__ import annotations

from node.holdings import VaultHoldings
from node.office import Office
from node.sync import Send, SyncCore

CHECKPOINT_EVERY = 10.0  # seconds between the leader's checkpoints (only when something changed)


def checkpoint(core: SyncCore, holdings: VaultHoldings, now: float) -> list[Send]:
    """A new checkpoint, published; [] if the newest one is ours and names what we hold.

    Raises PeerError or StorageError if it cannot be signed or kept.
    """
    held = core.checkpoint
    if (
        held is not None
        and held.signer == core.me
        and {(d, s) for d, s, _ in held.heads} == set(holdings.vector().items())
        and held.record_count == len(holdings.record_ids())
    ):
        return []
    return core.publish(holdings.sign_checkpoint(core.term), now)


def rotate(office: Office, wall: int) -> bool:
    """Rotate the vault key if the membership needs it; True if it did.

    Raises StorageError or UserError if the rotation cannot be made or saved.
    """
    if not office.membership.state.needs_rotation():
        return False
    office.commit([office.rotation(office.signing_time(wall))])
    return True
