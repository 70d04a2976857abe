"""`officevault node`, `join` and `peers`: run a headless peer, join the office over the LAN
with an invite code, and ask a running node who is online.

`node` runs in the foreground, logs one line per notable event to stderr
(with a time), and stops cleanly on Ctrl-C or SIGTERM. It finds peers by
mDNS on every interface of the PC unless told otherwise (`--mdns-interface`
restricts it, `--no-mdns` turns it off; `--peer` adds static peers). Its
advert names where it listens, and an admin node's also names its join
desk; a node that listens on loopback only browses, advertising nothing
other PCs could use.

`join` finds the join desks by mDNS (adverts of any office: the new PC knows
none yet), or takes `--peer`. The invite code's PAKE hello goes to each desk
in turn until one takes it up; a desk that is not the elected admin node
says so, and a silent one times out: both mean "ask the next". A hello costs
an invite nothing (no code is checked yet), so the other refusals there
(an unknown, used or expired invite; another office's desk) are kept and the
next desk is asked too; the first is reported if none takes it up. The rest
of the join goes to the desk that took it up and to no other: the code is
checked there, and a wrong code is never retried elsewhere (each wrong try
uses one of the invite's few attempts). An advert is only a hint: the
desk's key confirmation is what proves it holds this invite, so a PC that
merely answers at an advertised address learns nothing and enrols no one.

`peers` reads the status a running node keeps in the (encrypted) store.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from discovery.peers import Advert, JoinDesks, normal_host, parse_static
from node import cliutil, enrollment, invites, messages, node_status
from node.checkpoints import Shortfall
from node.cliutil import add_common
from node.datadir import DataDir
from node.errors import InviteError, PeerError, TransportError, UserError
from node.identity import check_name, when
from node.messages import JoinRefused
from node.runner import NOT_LEADER, Node, PeerAddress
from node.transport import JoinLine
from node.vault import Vault

if TYPE_CHECKING:
    from discovery.mdns import Mdns

FIND_SECONDS = 10.0  # how long `join` searches the LAN for join desks, at most
SETTLE = 1.0  # seconds `join` listens on after the first desk, to hear the others
MAX_FIND_SECONDS = 120.0
MAX_TRIES = 8  # join desks asked, at most
FIND_SLICE = 0.1  # seconds between two looks at a cancel while searching
ANSWER_SECONDS = 10.0  # how long one desk may take to answer one join message

Address = tuple[str, int]


def cmd_node(args: argparse.Namespace) -> int:
    statics = [static_address(text) for text in args.peer]
    interfaces = _interfaces(args.mdns_interface)
    stop = {"now": False}

    def on_signal(signum: int, _frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def log(line: str) -> None:
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        sys.stderr.flush()

    revoked = False
    reason = ""
    with cliutil.open_vault(args) as vault:
        node = Node(vault, host=args.listen, port=args.port, log=log, join_port=args.join_port)
        try:
            log(f"node for {vault.office.office_name} listening on {args.listen}:{node.port}")
            if node.join_port is not None:
                log(f"join desk (invite codes) on {args.listen}:{node.join_port}")
            for host, port in statics:
                node.add_peer(PeerAddress(host, port))
            mdns = None if args.no_mdns else _start_mdns(args.listen, interfaces, vault, node, log)
            if mdns is None:
                log("mDNS off: static peers only")
            parent = args.with_parent  # the window that started this node, if one did

            def stopping() -> bool:  # a signal, or the window gone (killed, crashed)
                return stop["now"] or (parent is not None and os.getppid() != parent)

            try:
                node.run(stopping, args.max_seconds)
            finally:
                if mdns is not None:
                    mdns.stop()
        finally:
            node.close()
        revoked = node.revoked
        if revoked:
            revocation = vault.office.membership.state.revoked[vault.office.identity.device_id]
            reason = revocation.reason
    if revoked:
        DataDir(cliutil.data_dir(args)).wipe(reason)
        log("this device was revoked; its vault is wiped")
        return 3
    log("node stopped")
    return 0


def static_address(text: str) -> Address:
    """HOST:PORT as typed (--peer, or the window's join page) -> an address; UserError if not."""
    try:
        return parse_static(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _interfaces(given: Sequence[str]) -> list[str] | None:
    """The --mdns-interface addresses, checked; None (every interface) if none was given."""
    if not given:
        return None
    hosts = [normal_host(text) for text in given]
    bad = [text for text, host in zip(given, hosts, strict=True) if host is None]
    if bad:
        raise UserError(
            f"--mdns-interface takes an IP address of this PC, not {bad[0]!r} "
            "(leave it out for every interface)"
        )
    return [host for host in hosts if host is not None]


def advertised(
    listen: str, interfaces: Sequence[str] | None, every: Callable[[], list[str]]
) -> list[str]:
    """The addresses a node's advert names: where other PCs can reach it ([]: nowhere).

    A specific --listen address is the one; a wildcard one (0.0.0.0, ::, *)
    means every address mDNS runs on (`every()`: this PC's non-loopback IPv4
    addresses when mDNS runs on every interface). A loopback --listen is of
    use only to mDNS on loopback (a test, or nodes on one PC); on a LAN it
    would send other PCs to themselves, so it is not advertised at all.
    """
    if listen == "*":
        listen = "0.0.0.0"  # noqa: S104 (zmq's spelling of the wildcard)
    try:
        ip = ipaddress.ip_address(listen)
    except ValueError:
        return []  # an interface name: zmq knows its address, we do not
    if ip.is_unspecified:
        return list(interfaces) if interfaces else every()
    if ip.is_loopback and not (interfaces and all(_loopback(i) for i in interfaces)):
        return []
    return [str(ip)]


def _loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


def _start_mdns(
    listen: str, interfaces: list[str] | None, vault: Vault, node: Node, log: Callable[[str], None]
) -> Mdns | None:
    """Advertise and browse (every interface unless `interfaces`); None if mDNS cannot run."""
    from discovery.mdns import Mdns, host_addresses  # noqa: PLC0415 (zeroconf only when used)

    office, me = vault.office.office_id.hex(), vault.office.identity.device_id.hex()

    def found(advert: Advert) -> None:
        if advert.office_id == office and advert.device_id != me:
            node.offer_peer(PeerAddress(advert.host, advert.port, bytes.fromhex(advert.device_id)))

    addresses = advertised(listen, interfaces, host_addresses)
    try:
        if addresses:
            mdns = Mdns(office, me, node.port, interfaces, found, log=log,
                        join_port=node.join_port, addresses=addresses)  # fmt: skip
        else:
            mdns = Mdns(office, None, None, interfaces, found, log=log)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if addresses:
        doing = f"advertising {', '.join(addresses)}"
        if node.join_port is not None:
            doing += f" (join desk on port {node.join_port})"
    else:
        doing = (
            f"browsing only: no address other PCs can reach (listening on {listen}; "
            "use --listen with this PC's LAN address)"
        )
    try:
        mdns.start()
    except OSError as exc:
        if interfaces is not None:  # asked for by name: the user should know it failed
            raise UserError(f"{exc.strerror or exc} (or use --no-mdns)") from None
        log(f"mDNS cannot run here ({exc.strerror or exc})")
        return None
    log(f"mDNS on {mdns.where}; {doing}")
    return mdns


# -- joining over the LAN -----------------------------------------------------------------
class Line(Protocol):
    """One frame out, one back (a `JoinLine` to one desk)."""

    def __call__(self, frame: bytes) -> bytes: ...

    def close(self) -> None: ...


class DeskChooser:
    """The join's exchange with the desks: the hello goes to each in turn until one takes the
    join up; everything after it goes to that desk, and to no other."""

    def __init__(self, desks: Sequence[Address], open_line: Callable[[str, int], Line]) -> None:
        if not desks:
            raise ValueError("no join desk to ask")
        self._desks = list(desks)
        self._open = open_line
        self._line: Line | None = None
        self.chosen: Address | None = None  # the desk that took the join up
        self.passed: list[Address] = []  # desks asked before it, which did not

    def __call__(self, frame: bytes) -> bytes:
        if self._line is not None:
            return self._line(frame)
        refusals: list[str] = []
        not_leader: list[str] = []
        silent: list[str] = []
        for host, port in self._desks:
            line = self._open(host, port)
            reply = _answer(line, frame)
            if reply is not None and not isinstance(reply[1], JoinRefused):
                self._line, self.chosen = line, (host, port)
                return reply[0]
            line.close()
            self.passed.append((host, port))
            refused = reply[1] if reply is not None else None
            if not isinstance(refused, JoinRefused):
                silent.append(f"{host}:{port}")
            elif refused.reason == NOT_LEADER:
                not_leader.append(f"{host}:{port}")
            else:
                refusals.append(refused.reason)
        raise _nobody(refusals, not_leader, silent)

    def close(self) -> None:
        if self._line is not None:
            self._line.close()
            self._line = None


def _answer(line: Line, frame: bytes) -> tuple[bytes, messages.JoinMessage] | None:
    """A desk's answer to the hello, as bytes and read; None if it gave none a desk would."""
    try:
        reply = line(frame)
        return reply, messages.decode_join(reply)
    except (TransportError, PeerError):
        return None


def _nobody(refusals: list[str], not_leader: list[str], silent: list[str]) -> Exception:
    """Why no desk took the join up, most telling first."""
    if refusals:
        return InviteError(f"the admin node refused: {refusals[0]}")
    if not_leader:
        return UserError(
            f"the admin PC at {', '.join(not_leader)} is not the elected admin node right now, "
            "and no other answered; try again in a minute"
        )
    return TransportError(
        f"no join desk answered at {', '.join(silent)}; check that the admin PC's node runs"
    )


def find_desks(
    interfaces: list[str] | None,
    seconds: float,
    cancelled: threading.Event | None = None,
    advice: str = "give an admin node's join address with --peer HOST:PORT",
) -> list[Address]:
    """Search the LAN by mDNS for join desks (any office), for at most `seconds`.

    Returns once the first desk was heard and SETTLE more seconds passed (to
    hear the office's other admin PCs too), when time is up, or soon after
    `cancelled` is set (the window's Cancel): at most MAX_TRIES desks, in address
    order. `advice` ends the message when the search cannot start.
    """
    from discovery.mdns import Mdns  # noqa: PLC0415 (zeroconf only when used)

    desks = JoinDesks()
    first = threading.Event()
    stop = cancelled or threading.Event()

    def on_advert(advert: Advert) -> None:
        if desks.observe(advert):
            first.set()

    try:
        mdns = Mdns(None, None, None, interfaces, on_advert)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        mdns.start()
    except OSError as exc:
        raise UserError(
            f"cannot search the LAN for the office ({exc.strerror or exc}); {advice}"
        ) from None
    try:
        end = time.monotonic() + seconds
        settling = False
        for _ in range(math.ceil((seconds + SETTLE) / FIND_SLICE) + 1):  # bounded
            left = end - time.monotonic()
            if left <= 0 or stop.wait(min(FIND_SLICE, left)):
                break
            if not settling and first.is_set():
                settling, end = True, min(end, time.monotonic() + SETTLE)
    finally:
        mdns.stop()
    found = [(d.host, d.join_port) for d in desks.desks() if d.join_port is not None]
    return found[:MAX_TRIES]


def cmd_join(args: argparse.Namespace) -> int:
    invites.parse_code(args.code)  # a mistyped code fails before anything else is done
    check_name(args.name)
    path = cliutil.data_dir(args)
    datadir = DataDir(path)
    if datadir.keystore.exists() or datadir.database.exists():
        datadir.prepare_new()  # says why this folder cannot take a new device
    desks = _join_desks(args)
    chooser = DeskChooser(desks, lambda host, port: JoinLine(host, port, ANSWER_SECONDS))
    with cliutil.held_password(args, new=True, prompt="Choose a password for this PC: ") as pw:
        try:
            office, sync_port = enrollment.join(
                path, args.name, pw, cliutil.kdf_profile(), args.code, chooser
            )
        finally:
            chooser.close()
        office.close()
        vault = Vault.open(path, pw, cliutil.kdf_profile())
    host, port = chooser.chosen or desks[0]
    with vault:
        member = vault.office.member
        role = member.role.value if member else "?"
        print(f"Joined {vault.office.office_name} as {role}.")
        print(f"Office fingerprint: {vault.office.fingerprint}")
        passed = ", ".join(f"{h}:{p}" for h, p in chooser.passed)
        asked = f" (asked first: {passed})" if passed else ""
        print(f"Enrolled by the admin node at {host}:{port}{asked}.")
        node = Node(vault, log=lambda _line: None)
        try:
            node.add_peer(PeerAddress(host, sync_port))
            short = _sync_until_done(node, args.sync_seconds)
        finally:
            node.close()
        print(f"Synced {len(vault)} entries.")
        if short is not None and not short.met:
            print(f"Still missing {short.envelopes} change(s) the admin node holds; they "
                  "arrive when this PC's node runs ('officevault node').")  # fmt: skip
    return 0


def _join_desks(args: argparse.Namespace) -> list[Address]:
    """The desk named by --peer, or those found on the LAN by mDNS; never none."""
    if args.peer is not None:
        if args.mdns_interface:
            raise UserError("--peer names the join desk; leave out --mdns-interface")
        return [static_address(args.peer)]
    if args.no_mdns:
        raise UserError(
            "with --no-mdns, say where the office is: --peer HOST:PORT "
            "(an admin node's join desk; its log shows it)"
        )
    desks = find_desks(_interfaces(args.mdns_interface), args.find_seconds)
    if not desks:
        raise UserError(
            f"no office found on the LAN in {args.find_seconds:g} s (no admin PC's node "
            "answered mDNS); give an admin node's join address with --peer HOST:PORT"
        )
    return desks


def _sync_until_done(node: Node, limit: float) -> Shortfall | None:
    """Run the node (bounded by `limit` seconds) until it holds everything the admin node's
    signed checkpoint names; with no checkpoint (no admin node online), until a peer
    answered and nothing new arrived for a second. Returns what is still missing."""
    start = last = time.monotonic()
    seen = -1
    while time.monotonic() - start < limit:
        node.step(50)
        short = node.core.shortfall()
        if short is not None and short.met:
            return short
        count = len(node.vault.office.store.authors()) + sum(node.holdings.vector().values())
        now = time.monotonic()
        if count != seen:
            seen, last = count, now
        if short is None and node.core.online(now) and now - last > 1.0:
            return None
    return node.core.shortfall()


def cmd_peers(args: argparse.Namespace) -> int:
    with cliutil.open_vault(args) as vault:
        status = node_status.read(vault.office.store, time.time()) or {}
    fresh = bool(status)
    if args.json:
        cliutil.emit_json({"running": fresh, **status})
        return 0 if fresh else 1
    if not fresh:
        print("No node is running for this data dir (start one with 'officevault node').")
        return 1
    leader = status.get("leader") or ""
    names = {p["device"]: p["user"] for p in status.get("peers", [])}
    leader_name = names.get(leader, "this PC" if leader else "none")
    print(f"Node on port {status['port']}; admin node: {leader_name} (term {status['term']})")
    for p in status.get("peers", []):
        state = "online" if p["online"] else "offline"
        behind = "" if p["behind"] < 0 else f", {p['behind']} change(s) behind"
        print(f"  {p['user']:16} {p['device'][:12]}  {state}{behind}")
    checkpoint = status.get("checkpoint")
    if checkpoint:
        missing = checkpoint["missing_changes"] + checkpoint["missing_records"]
        state = "holds all of it" if not missing else f"{missing} change(s) still to come"
        print(f"Admin node's checkpoint of {when(checkpoint['at'])}: this PC {state}")
        for device in checkpoint["forks"]:
            print(f"  warning: device {device[:12]} signed two different changes with one number")
    print(f"(as of {when(status['at'])})")
    return 0


def _seconds(text: str) -> float:
    """A positive number of seconds, at most MAX_FIND_SECONDS (for a hidden test option)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_FIND_SECONDS:
        raise argparse.ArgumentTypeError(f"give 0 to {MAX_FIND_SECONDS:g} seconds")
    return value


def _add_mdns(p: argparse.ArgumentParser, what: str) -> None:
    mdns = p.add_mutually_exclusive_group()
    mdns.add_argument("--mdns-interface", action="append", default=[], metavar="IP",
                      help=f"{what} by mDNS on this interface address only (repeatable; "
                           "default: every interface of this PC)")  # fmt: skip
    mdns.add_argument("--no-mdns", action="store_true",
                      help="no mDNS at all (networks that block multicast)")  # fmt: skip


def register(sub: Any) -> None:
    p = sub.add_parser("node", help="run this PC's peer in the foreground (Ctrl-C stops it)")
    p.add_argument("--listen", default="0.0.0.0",  # noqa: S104 (a LAN peer: CURVE guards it)
                   help="address to listen on (default: every interface, so the office's "
                        "other PCs can reach it; 127.0.0.1 keeps it on this PC)")  # fmt: skip
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any)")
    p.add_argument("--peer", action="append", default=[], metavar="HOST:PORT",
                   help="a peer to connect to (repeatable; no multicast needed)")  # fmt: skip
    _add_mdns(p, "find peers and advertise this node")
    p.add_argument("--join-port", type=int, default=0,
                   help="admin PCs: the join desk port (default: any)")  # fmt: skip
    p.add_argument("--max-seconds", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--with-parent", type=int, default=None, help=argparse.SUPPRESS)
    add_common(p)
    p.set_defaults(func=cmd_node)

    p = sub.add_parser("join", help="join the office over the LAN with an invite code")
    p.add_argument("code", help="the invite code, e.g. 42-otter-piano-ember")
    p.add_argument("--name", required=True, help="your user name, as on your invite")
    p.add_argument("--peer", default=None, metavar="HOST:PORT",
                   help="an admin node's join address (its log shows it); "
                        "default: find the office on the LAN by mDNS")  # fmt: skip
    _add_mdns(p, "find the office")
    p.add_argument("--find-seconds", type=_seconds, default=FIND_SECONDS, help=argparse.SUPPRESS)
    p.add_argument("--sync-seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    add_common(p)
    p.set_defaults(func=cmd_join)

    p = sub.add_parser("peers", help="who is online, the admin node, and sync state")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_peers)
