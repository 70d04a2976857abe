"""The peer table: where this node may find the other peers of its office.

Everything here is a hint. An advert says "device D of office O listens at
HOST:PORT", and anyone on the LAN can say that about any device: who is
really at an address is decided later, by the CURVE handshake against the
keys in the membership log. So the table never trusts an advert, it only
bounds what hostile ones can cost: every field is checked for shape and
size before it is kept, adverts of other offices are dropped, the table
holds at most `max_peers` entries (when full, the least recently observed
one makes room), and an entry not observed again within `ttl` seconds
expires. A second advert for a known device id with another address
replaces the first: the newest hint is tried, and the handshake tells a
real peer from an impostor.

An admin node's advert also names its join desk (the port where a new PC
redeems an invite code). A new PC does not know its office yet, so
`JoinDesks` keeps the desks of any office it hears of, checked for shape and
bounded the same way; which desk really belongs to the office is proven later
by the invite code's PAKE, never by the advert.

Static peers (HOST:PORT given on the command line, for networks that block
multicast) are parsed here too. This module does no I/O, reads no clock
(time is passed in) and knows nothing of mDNS or crypto. A `PeerTable` and
a `JoinDesks` are safe to share between the discovery thread and another.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

ID_HEX = 32  # a 128-bit office or device id, as lowercase hex
MAX_HOST = 64  # longest IP literal we accept (IPv6 with a scope id)
MAX_STATIC = 300  # longest HOST:PORT line we look at
MAX_PEERS = 256
MAX_DESKS = 16  # join desks a new PC keeps (any office): the first heard are kept
TTL = 120.0  # seconds: a hint not observed again for this long is dropped
_HEX = re.compile(r"[0-9a-f]{32}")
_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class Advert:
    """One hint: device `device_id` of office `office_id` said it listens at host:port."""

    office_id: str
    device_id: str
    host: str
    port: int
    seen: float
    join_port: int | None = None  # an admin node's join desk, if its advert names one


@dataclass
class TableStats:
    """What the table did with the adverts it was shown."""

    seen: int = 0  # accepted: new, moved or refreshed hints
    ignored: int = 0  # malformed, or of another office
    evicted: int = 0  # dropped to make room for a newer hint
    expired: int = 0  # dropped for not being observed within the ttl


def is_id(value: object) -> bool:
    """Whether `value` is a 128-bit id as 32 lowercase hex digits."""
    return isinstance(value, str) and len(value) == ID_HEX and _HEX.fullmatch(value) is not None


def is_port(value: object) -> bool:
    """Whether `value` is a TCP port a peer can listen on (1..65535)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def read_port(text: str) -> int | None:
    """A port written as canonical decimal ("8080"), or None for anything else.

    "08080", "+80", " 80", "0x50", "0", "65536" and non-ASCII digits are all
    None: a port from a record is taken only in the one form we write.
    """
    if _PORT.fullmatch(text) is None:
        return None
    port = int(text)
    return port if is_port(port) and str(port) == text else None


def normal_host(value: object) -> str | None:
    """`value` as a normalised IPv4 or IPv6 literal, or None if it is not a usable one.

    Names are refused (resolving one would be I/O and a second trust
    question), and so are the unspecified and multicast addresses, which
    no peer can listen at.
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_HOST:
        return None
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if ip.is_unspecified or ip.is_multicast:
        return None
    return str(ip)


def usable_host(advert: Advert) -> str | None:
    """The advert's host, normalised, if its device id, port and host are well formed."""
    if not is_id(advert.device_id) or not is_port(advert.port):
        return None
    return normal_host(advert.host)


class PeerTable:
    """A bounded, expiring map from device id to the latest advert for it."""

    def __init__(self, office_id: str, max_peers: int = MAX_PEERS, ttl: float = TTL) -> None:
        if not is_id(office_id):
            raise ValueError("office id must be 32 lowercase hex digits")
        if max_peers < 1 or ttl <= 0:
            raise ValueError("max_peers and ttl must be positive")
        self.office_id = office_id
        self.max_peers = max_peers
        self.ttl = ttl
        self.stats = TableStats()
        self._lock = threading.Lock()
        # least recently observed first: the first entry is the one to evict
        self._adverts: OrderedDict[str, Advert] = OrderedDict()

    def observe(self, advert: Advert, now: float) -> bool:
        """Take in an advert seen at `now`; True if it is a new peer or a new address.

        A refresh of a hint we hold (same host and port) returns False, and
        so does an ignored advert; `stats` tells the two apart.
        """
        host = usable_host(advert)
        if advert.office_id != self.office_id or host is None:
            with self._lock:
                self.stats.ignored += 1
            return False
        join_port = advert.join_port if is_port(advert.join_port) else None
        fresh = replace(advert, host=host, seen=now, join_port=join_port)
        with self._lock:
            self.stats.seen += 1
            old = self._adverts.pop(advert.device_id, None)
            if old is None and len(self._adverts) >= self.max_peers:
                self._adverts.popitem(last=False)
                self.stats.evicted += 1
            self._adverts[advert.device_id] = fresh
        return old is None or (old.host, old.port) != (fresh.host, fresh.port)

    def forget(self, device_id: str) -> bool:
        """Drop the hint for `device_id`; True if there was one."""
        with self._lock:
            return self._adverts.pop(device_id, None) is not None

    def expire(self, now: float) -> list[str]:
        """Drop the hints not observed within `ttl` of `now`; their device ids, sorted."""
        with self._lock:
            stale = [d for d, a in self._adverts.items() if now - a.seen > self.ttl]
            for device_id in stale:
                del self._adverts[device_id]
            self.stats.expired += len(stale)
        return sorted(stale)

    def peers(self, now: float) -> list[Advert]:
        """The hints still fresh at `now`, sorted by device id."""
        with self._lock:
            fresh = [a for a in self._adverts.values() if now - a.seen <= self.ttl]
        return sorted(fresh, key=lambda a: a.device_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._adverts)


class JoinDesks:
    """The join desks a new PC has heard of, of any office: bounded, checked, first heard kept.

    A desk is a (host, join port) pair from an advert that names one. A flood
    of adverts cannot grow this past `max_desks`; it can crowd out the real
    desks (then the join needs --peer), but never make the new PC trust one.
    """

    def __init__(self, max_desks: int = MAX_DESKS) -> None:
        if max_desks < 1:
            raise ValueError("max_desks must be positive")
        self.max_desks = max_desks
        self.stats = TableStats()
        self._lock = threading.Lock()
        self._desks: dict[tuple[str, int], Advert] = {}

    def observe(self, advert: Advert) -> bool:
        """Take in an advert; True if it names a join desk not heard of before."""
        host = usable_host(advert)
        join_port = advert.join_port
        if (
            join_port is None
            or not is_port(join_port)
            or not is_id(advert.office_id)
            or host is None
        ):
            with self._lock:
                self.stats.ignored += 1
            return False
        key = (host, join_port)
        with self._lock:
            if key in self._desks:
                return False
            if len(self._desks) >= self.max_desks:
                self.stats.evicted += 1  # not kept: the table is full of earlier desks
                return False
            self.stats.seen += 1
            self._desks[key] = replace(advert, host=host)
        return True

    def desks(self) -> list[Advert]:
        """The desks heard of, in address order (IPv4 first), then by port."""
        with self._lock:
            found = list(self._desks.values())
        return sorted(found, key=_desk_order)

    def __len__(self) -> int:
        with self._lock:
            return len(self._desks)


def _desk_order(advert: Advert) -> tuple[int, bytes, int]:
    ip = ipaddress.ip_address(advert.host)
    return ip.version, ip.packed, advert.join_port or 0


def parse_static(text: str) -> tuple[str, int]:
    """Parse a static peer `HOST:PORT` (IPv6 as `[HOST]:PORT`) into (host, port).

    Raises ValueError with a one-line message a user can act on.
    """
    if len(text) > MAX_STATIC:
        raise ValueError("static peer is too long; expected HOST:PORT")
    text = text.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
        if ":" in host:
            raise ValueError(f"put an IPv6 address in brackets: [{host}]:{port}")
    if not sep or not host:
        raise ValueError(f"static peer {text!r} is not HOST:PORT")
    normal = normal_host(host)
    if normal is None:
        raise ValueError(f"static peer host {host!r} is not an IP address")
    if _PORT.fullmatch(port) is None or not is_port(int(port)):
        raise ValueError(f"static peer port {port!r} is not a number from 1 to 65535")
    return normal, int(port)
