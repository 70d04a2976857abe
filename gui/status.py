"""The status bar and the change notices: who is online, the admin node, offline, toasts.

`StatusPresenter.view` reads the node's status (the same dictionary
`officevault peers --json` prints, posted by the node's thread) and says what the
bar shows. `notice` turns a vault change heard from a peer into the toast text
("Office Wi-Fi updated by alice"); changes made in this window make none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from node.vault import Change

MAX_NAMES = 5  # online people named in the bar; more are counted


@dataclass(frozen=True)
class StatusView:
    offline: bool  # no peer reachable: the badge shows
    online: tuple[str, ...]  # user names, sorted, ours not included
    text: str  # the bar's line
    admin_node: str  # the elected admin node's user name ("" if none)


def view(status: Mapping[str, object] | None, me: str, names: Mapping[str, str]) -> StatusView:
    """`status`: the node's status (None: no node running); `names`: device hex -> user."""
    if status is None:
        return StatusView(True, (), "Offline: the sync node is not running", "")
    peers = status.get("peers")
    listed = peers if isinstance(peers, list) else []
    online = sorted({str(p.get("user", "?")) for p in listed if isinstance(p, dict)
                     and p.get("online")})  # fmt: skip
    leader_hex = str(status.get("leader", ""))
    leader = names.get(leader_hex, "") if leader_hex else ""
    if leader_hex and not leader:
        leader = leader_hex[:8]
    if not online:
        text = "Offline: no other PC reachable; changes are kept here and sync later"
        return StatusView(True, (), text, leader)
    shown = ", ".join(online[:MAX_NAMES]) + (f" and {len(online) - MAX_NAMES} more"
                                             if len(online) > MAX_NAMES else "")  # fmt: skip
    admin = f"; admin node: {'this PC' if leader == me else leader}" if leader else ""
    return StatusView(False, tuple(online), f"Online with {shown}{admin}", leader)


def notice(
    change: Change,
    title_of: Callable[[str], str | None],
    author_of: Callable[[str], str | None] = lambda _entry: None,
) -> str | None:
    """The toast for a change (None: made here, or nothing we can name). Where the
    change does not say who made it (picked up from the store the node wrote), the
    entries' last authors do, if they are one person."""
    if change.local or not change.entries:
        return None
    by = change.by
    if not by:
        authors = {author_of(e) for e in change.entries}
        by = (authors.pop() or "") if len(authors) == 1 else ""
    who = f" by {by}" if by else ""
    if len(change.entries) == 1:
        title = title_of(change.entries[0])
        return f"{title or 'An entry'} updated{who}"
    return f"{len(change.entries)} entries updated{who}"
