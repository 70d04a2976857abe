"""mDNS: advertise this node as `_officevault._tcp.local.` and browse for the others.

The one module that imports zeroconf. `Mdns` advertises an instance named
after the device id (`ov-<12 hex>`) whose TXT record carries the office id
("o"), the device id ("d"), the advert format ("v" = "1") and, for an admin
node, its join desk's port ("j"), and browses for the same service. Each
advert of our office from another device reaches `on_advert` as a
`peers.Advert` (usually fed to a `PeerTable`); it is only a hint for the
transport, which proves who is really there with the CURVE handshake. A new
PC, which knows no office yet, browses without advertising and takes the
adverts of every office (`office_id=None`, usually fed to a `JoinDesks`):
the invite code's PAKE proves which desk is the real office. Goodbye records
are not acted on: anyone can send one for any name, and presence is the
heartbeats' job, not ours; a hint simply ages out of the table.

Where: on the given interface addresses only, or, given none, on every
interface of this host (zeroconf's `InterfaceChoice.All` over IPv4: each
IPv4 address, loopback included, as zeroconf reads them when `start()`
runs; addresses that appear later are not picked up). What the advert names
as the node's address is said separately (`addresses`): where the node
listens, which need not be every interface mDNS runs on.

Hostile records are bounded before any work: names over 255 characters
and TXT records over 1 KiB are dropped unread, values over 64 bytes are
ignored, a join port not written as a plain port number is ignored (the
rest of the advert stands), at most 16 resolutions run at once, and at most
1,024 names are remembered for the periodic refresh. A name already taken on
the LAN is retried with a suffix (`ov-<12 hex>-2`, ...) a few times, then the
node stays silent but keeps browsing (static peers still work).

Everything runs on zeroconf's own event-loop thread: `start()` only opens
the sockets and schedules the work; `stop()` sends the goodbyes, closes the
sockets and joins that thread. `on_advert` is called on that thread, so it
must be quick and thread-safe (a `PeerTable` and a `JoinDesks` are).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass

import ifaddr
from zeroconf import (
    InterfaceChoice,
    IPVersion,
    NonUniqueNameException,
    ServiceStateChange,
    Zeroconf,
)
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

from discovery.peers import Advert, is_id, is_port, normal_host, read_port

SERVICE = "_officevault._tcp.local."
FORMAT = "1"  # the "v" TXT value this code writes and reads
MAX_NAME = 255  # characters of an instance name we look at
MAX_TXT = 1024  # bytes of TXT record we parse
MAX_TXT_ITEMS = 16  # key=value strings read from one TXT record
MAX_TXT_VALUE = 64  # bytes: a longer value is ignored
MAX_ADDRESSES = 8  # addresses of one advert we look at (and at most what ours names)
MAX_INTERFACES = 8  # interface addresses one may name (every interface: no limit of ours)
MAX_LOOKUPS = 16  # resolutions in flight at once
MAX_NAMES = 1024  # names remembered for the refresh
NAME_TRIES = 4  # instance names tried before giving up advertising
LOOKUP_MS = 3000  # how long one resolution may wait for answers
REFRESH = 30.0  # seconds between re-reads of the names we know
SETUP_TIMEOUT = 5.0  # seconds start()/stop() wait for zeroconf's loop
_KEYS = (b"o", b"d", b"v", b"j")


@dataclass
class MdnsStats:
    """What the browser did with the records it saw."""

    delivered: int = 0  # adverts passed to on_advert
    dropped: int = 0  # records or adverts refused as malformed, foreign or over a bound
    renames: int = 0  # instance names found taken while registering


def instance_name(device_id: str, attempt: int = 0) -> str:
    """The full instance name for a device: `ov-<12 hex>[-n]._officevault._tcp.local.`."""
    suffix = f"-{attempt + 1}" if attempt else ""
    return f"ov-{device_id[:12]}{suffix}.{SERVICE}"


def read_txt(text: bytes) -> dict[str, str] | None:
    """The "o", "d", "v" and "j" values of a TXT record, or None if it is too big or truncated.

    Other keys, values over MAX_TXT_VALUE bytes and non-ASCII values are
    skipped; a repeated key keeps its first value (RFC 6763 section 6.4).
    """
    if len(text) > MAX_TXT:
        return None
    values: dict[str, str] = {}
    at = 0
    for _ in range(MAX_TXT_ITEMS):
        if at >= len(text):
            return values
        end = at + 1 + text[at]
        if end > len(text):
            return None
        key, eq, value = text[at + 1 : end].partition(b"=")
        at = end
        if eq and key in _KEYS and len(value) <= MAX_TXT_VALUE and value.isascii():
            values.setdefault(key.decode(), value.decode())
    return values if at >= len(text) else None


def read_advert(text: bytes, addresses: Sequence[str], port: int, seen: float) -> Advert | None:
    """The advert in a resolved record set, or None if it is not one of format 1.

    Fields are decoded, not judged: `PeerTable.observe` (or `JoinDesks.observe`)
    checks their shape. An IPv4 address is preferred to an IPv6 one (no scope
    id is needed). A join port ("j") that is not a plain port number is
    dropped, not the advert: the node is still a peer hint.
    """
    values = read_txt(text)
    if values is None or values.get("v") != FORMAT or "o" not in values or "d" not in values:
        return None
    usable = [a for a in addresses[:MAX_ADDRESSES] if normal_host(a) is not None]
    if not usable:
        return None
    host = next((a for a in usable if "." in a), usable[0])
    join_port = read_port(values["j"]) if "j" in values else None
    return Advert(values["o"], values["d"], host, port, seen, join_port)


def host_addresses() -> list[str]:
    """This host's IPv4 addresses but loopback ones, sorted (at most MAX_ADDRESSES).

    Read with ifaddr, the library zeroconf's `InterfaceChoice.All` reads them
    with. For a node that listens on every address: what its advert names.
    """
    found: set[ipaddress.IPv4Address] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and ip.is_IPv4:
                address = ipaddress.IPv4Address(ip.ip)
                if not address.is_loopback and normal_host(str(address)) is not None:
                    found.add(address)
    return [str(a) for a in sorted(found)][:MAX_ADDRESSES]


def _addresses(values: Sequence[str], limit: int, what: str) -> list[str]:
    hosts = [normal_host(ip) for ip in values[: limit + 1]]
    if not 0 < len(hosts) <= limit or None in hosts:
        raise ValueError(f"give 1 to {limit} {what} IP addresses, not names or wildcards")
    return [h for h in hosts if h is not None]


class Mdns:
    """Advertise one node and report the adverts of the others; `start()` once, `stop()`."""

    def __init__(
        self,
        office_id: str | None,
        device_id: str | None,
        port: int | None,
        interfaces: Sequence[str] | None,
        on_advert: Callable[[Advert], None],
        clock: Callable[[], float] = time.monotonic,
        refresh: float = REFRESH,
        log: Callable[[str], None] | None = None,
        *,
        join_port: int | None = None,
        addresses: Sequence[str] | None = None,
    ) -> None:
        """Set up; nothing is opened before `start()`.

        `interfaces`: the IP addresses to bind mDNS to (never "0.0.0.0" or "::"),
        or None for every interface of this host. `office_id` None takes the
        adverts of every office (a new PC's search). `device_id` None advertises
        nothing: then `port`, `join_port` and `addresses` must be None too.
        `addresses`: what the advert names as this node's address (where it
        listens); by default the interfaces, and required with `interfaces=None`.
        """
        if office_id is not None and not is_id(office_id):
            raise ValueError("the office id must be 32 lowercase hex digits")
        if device_id is None:
            if port is not None or join_port is not None or addresses is not None:
                raise ValueError("a node that does not advertise has no port or address to name")
        else:
            if office_id is None or not is_id(device_id):
                raise ValueError("an advert needs office and device ids of 32 lowercase hex digits")
            if not is_port(port):
                raise ValueError(f"port {port!r} is not from 1 to 65535")
            if join_port is not None and not is_port(join_port):
                raise ValueError(f"join port {join_port!r} is not from 1 to 65535")
        if refresh <= 0:
            raise ValueError("refresh must be positive")
        self.interfaces = (
            None if interfaces is None else _addresses(interfaces, MAX_INTERFACES, "interface")
        )
        named = addresses if addresses is not None else interfaces
        if device_id is not None and named is None:
            raise ValueError("say which addresses to advertise when mDNS runs on every interface")
        self.addresses = (
            []
            if device_id is None or named is None
            else _addresses(named, MAX_ADDRESSES, "advertised")
        )
        self.office_id = office_id
        self.device_id = device_id
        self.port = port
        self.join_port = join_port
        self.stats = MdnsStats()
        self._on_advert = on_advert
        self._clock = clock
        self._refresh = refresh
        self._log = log or (lambda _line: None)
        self._zc: Zeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lookups = 0
        self._names: OrderedDict[str, None] = OrderedDict()
        self._name: str | None = None
        self._stopped = False

    @property
    def where(self) -> str:
        """The interfaces mDNS runs on, for a log line."""
        return ", ".join(self.interfaces) if self.interfaces else "every interface"

    @property
    def name(self) -> str | None:
        """The instance name we advertise, once registered (None before, or if all were taken)."""
        return self._name

    # -- lifecycle (any thread but zeroconf's) -------------------------------------
    def start(self) -> None:
        """Open the sockets, start browsing and schedule the registration; does not wait for it.

        Raises OSError if no socket can be bound (an address this host does not
        have), RuntimeError if called twice.
        """
        if self._zc is not None or self._stopped:
            raise RuntimeError("an Mdns can be started only once")
        if self.interfaces is None:
            try:
                self._zc = Zeroconf(
                    interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only, use_asyncio=False
                )
            except RuntimeError as error:  # zeroconf found no IPv4 interface at all
                raise OSError(errno.EADDRNOTAVAIL, f"no interface for mDNS: {error}") from None
        else:
            for ip in self.interfaces:  # before zeroconf, which leaks a socket when it fails
                _check_local(ip)
            self._zc = Zeroconf(interfaces=list(self.interfaces), use_asyncio=False)
        loop = self._zc.loop
        assert loop is not None  # Zeroconf's constructor started its thread and loop
        if not self._zc.engine.senders:  # zeroconf only logs an address it cannot bind
            self.stop()
            raise OSError(errno.EADDRNOTAVAIL, f"cannot bind mDNS to {self.where}: not this host's")
        try:
            asyncio.run_coroutine_threadsafe(self._async_start(), loop).result(SETUP_TIMEOUT)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Cancel our work, send goodbyes, close the sockets, join zeroconf's thread. Idempotent.

        Raises RuntimeError if called on zeroconf's thread (from `on_advert`): it would deadlock.
        """
        zc = self._zc
        if zc is not None and zc.loop is not None and _running_loop() is zc.loop:
            raise RuntimeError("stop() must not be called from an mDNS callback")
        if self._stopped:
            return
        self._stopped = True
        self._zc = None
        if zc is None:
            return
        try:
            if zc.loop is not None and zc.loop.is_running():
                done = asyncio.run_coroutine_threadsafe(self._async_stop(), zc.loop)
                done.result(SETUP_TIMEOUT)
        except TimeoutError:
            self._log("mdns: zeroconf's loop did not answer in time; closing anyway")
        finally:
            zc.close()
            self._name = None

    def __enter__(self) -> Mdns:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- on zeroconf's loop ------------------------------------------------------------
    async def _async_start(self) -> None:
        assert self._zc is not None
        self._browser = AsyncServiceBrowser(self._zc, SERVICE, handlers=[self._on_change])
        if self.device_id is not None:
            self._spawn(self._advertise(self._zc, self.device_id))
        self._spawn(self._refresh_names())

    async def _async_stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _advertise(self, zc: Zeroconf, device_id: str) -> None:
        """Register under our name, or the next suffix if it is taken (bounded)."""
        addresses = [ipaddress.ip_address(ip).packed for ip in self.addresses]
        properties = {"o": self.office_id or "", "d": device_id, "v": FORMAT}
        if self.join_port is not None:
            properties["j"] = str(self.join_port)
        server = f"ov-{device_id[:12]}.local."
        for attempt in range(NAME_TRIES):
            info = AsyncServiceInfo(
                SERVICE,
                instance_name(device_id, attempt),
                port=self.port,
                properties=properties,
                server=server,
                addresses=addresses,
            )
            try:
                announced = await zc.async_register_service(info)
            except NonUniqueNameException:
                self.stats.renames += 1
                continue
            except Exception as error:  # e.g. zeroconf shutting down: browsing goes on
                self._log(f"mdns: cannot advertise: {error!r}")
                return
            self._name = info.name
            self._log(f"mdns: advertising {info.name} on {self.where}")
            await announced
            return
        self._log(f"mdns: {NAME_TRIES} names taken; not advertising (browsing still)")

    async def _refresh_names(self) -> None:
        """Re-read the names we know, so live peers stay fresh in the table (until stop)."""
        while not self._stopped:
            await asyncio.sleep(self._refresh)
            for name in list(self._names):
                self._resolve(name)

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        """A browser event: resolve an added or updated name; goodbyes are not trusted."""
        if state_change is ServiceStateChange.Removed:
            return
        if len(name) > MAX_NAME or service_type != SERVICE or not name.endswith("." + SERVICE):
            self.stats.dropped += 1
            return
        self._resolve(name)

    def _resolve(self, name: str) -> None:
        """Deliver `name`'s advert from the cache, or start a bounded lookup for it."""
        zc = self._zc
        if zc is None or self._stopped:
            return
        try:
            info = AsyncServiceInfo(SERVICE, name)
        except Exception:  # zeroconf refuses the name's shape: a hostile record
            self.stats.dropped += 1
            self._names.pop(name, None)
            return
        if info.load_from_cache(zc):
            self._deliver(name, info)
        elif self._lookups < MAX_LOOKUPS:
            self._lookups += 1
            self._spawn(self._lookup(zc, name, info))
        else:
            self.stats.dropped += 1

    async def _lookup(self, zc: Zeroconf, name: str, info: AsyncServiceInfo) -> None:
        try:
            found = await info.async_request(zc, LOOKUP_MS)
        except Exception:  # zeroconf shutting down under us: nothing to deliver
            found = False
        finally:
            self._lookups -= 1
        if found:
            self._deliver(name, info)
        else:
            self._names.pop(name, None)  # silent: stop refreshing it

    def _deliver(self, name: str, info: AsyncServiceInfo) -> None:
        advert = read_advert(
            info.text or b"", info.parsed_addresses()[:MAX_ADDRESSES], info.port or 0, self._clock()
        )
        if advert is None or self.office_id not in (None, advert.office_id):
            self.stats.dropped += 1
            self._names.pop(name, None)
            return
        if advert.device_id == self.device_id:
            return  # ourselves (or someone claiming to be us: not a peer either way)
        self._names[name] = None
        self._names.move_to_end(name)
        while len(self._names) > MAX_NAMES:
            self._names.popitem(last=False)
        self.stats.delivered += 1
        try:
            self._on_advert(advert)
        except Exception as error:  # the caller's bug must not stop discovery
            self._log(f"mdns: on_advert failed: {error!r}")


def _check_local(ip: str) -> None:
    """Raise OSError unless `ip` is an address of this host (a bind test: nothing is sent)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((ip, 0))
        except OSError as error:
            raise OSError(error.errno, f"cannot bind mDNS to {ip}: not this host's") from error


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
