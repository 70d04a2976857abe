"""`officevault node` and `officevault peers`: run a headless peer, and ask it who is online.

`node` runs in the foreground, logs one line per notable event to stderr
(with a time), and stops cleanly on Ctrl-C or SIGTERM. `peers` reads the
status a running node keeps in the (encrypted) store.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from discovery.peers import parse_static
from node import cliutil, enrollment
from node.cliutil import add_common
from node.datadir import DataDir
from node.errors import UserError
from node.identity import when
from node.runner import STATUS_EVERY, STATUS_META, Node, PeerAddress
from node.transport import JoinLine
from node.vault import Vault


def cmd_node(args: argparse.Namespace) -> int:
    statics = []
    for text in args.peer:
        try:
            statics.append(parse_static(text))
        except ValueError as exc:
            raise UserError(str(exc)) from None
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
            mdns = _start_mdns(args, vault, node, log)
            try:
                node.run(lambda: stop["now"], args.max_seconds)
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


def _start_mdns(args: argparse.Namespace, vault: Any, node: Node, log: Any) -> Any:
    """Advertise and browse on the chosen interfaces (none: static peers only)."""
    if not args.mdns_interface:
        return None
    from discovery.mdns import Mdns  # noqa: PLC0415 (zeroconf only when asked for)

    office, me = vault.office.office_id.hex(), vault.office.identity.device_id.hex()

    def found(advert: Any) -> None:
        if advert.office_id == office and advert.device_id != me:
            node.offer_peer(PeerAddress(advert.host, advert.port, bytes.fromhex(advert.device_id)))

    mdns = Mdns(office, me, node.port, args.mdns_interface, found)
    mdns.start()
    log(f"mDNS on {', '.join(args.mdns_interface)}")
    return mdns


def cmd_join(args: argparse.Namespace) -> int:
    if not args.peer:
        raise UserError("say where an admin node is: --peer HOST:PORT (its join port)")
    try:
        host, port = parse_static(args.peer)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    path = cliutil.data_dir(args)
    with cliutil.held_password(args, new=True, prompt="Choose a password for this PC: ") as pw:
        with JoinLine(host, port) as line:
            office, sync_port = enrollment.join(
                path, args.name, pw, cliutil.kdf_profile(), args.code, line
            )
        office.close()
        vault = Vault.open(path, pw, cliutil.kdf_profile())
    with vault:
        member = vault.office.member
        role = member.role.value if member else "?"
        print(f"Joined {vault.office.office_name} as {role}.")
        print(f"Office fingerprint: {vault.office.fingerprint}")
        node = Node(vault, log=lambda _line: None)
        try:
            node.add_peer(PeerAddress(host, sync_port))
            _sync_until_quiet(node, args.sync_seconds)
        finally:
            node.close()
        print(f"Synced {len(vault)} entries.")
    return 0


def _sync_until_quiet(node: Node, limit: float) -> None:
    """Run the node until a peer answered and nothing new arrived for a second (bounded)."""
    start = last = time.monotonic()
    seen = -1
    while time.monotonic() - start < limit:
        node.step(50)
        count = len(node.vault.office.store.authors()) + sum(node.holdings.vector().values())
        now = time.monotonic()
        if count != seen:
            seen, last = count, now
        if node.core.online(now) and now - last > 1.0:
            return


def cmd_peers(args: argparse.Namespace) -> int:
    with cliutil.open_vault(args) as vault:
        raw = vault.office.store.get_meta(STATUS_META)
    status: dict[str, Any] = json.loads(raw) if raw else {}
    fresh = bool(status) and time.time() - status.get("at", 0) <= 3 * STATUS_EVERY
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
    print(f"(as of {when(status['at'])})")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("node", help="run this PC's peer in the foreground (Ctrl-C stops it)")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any)")
    p.add_argument("--peer", action="append", default=[], metavar="HOST:PORT",
                   help="a peer to connect to (repeatable; no multicast needed)")  # fmt: skip
    p.add_argument("--mdns-interface", action="append", default=[], metavar="IP",
                   help="find peers by mDNS on this interface address (repeatable)")  # fmt: skip
    p.add_argument("--join-port", type=int, default=0,
                   help="admin PCs: the join desk port (default: any)")  # fmt: skip
    p.add_argument("--max-seconds", type=float, default=None, help=argparse.SUPPRESS)
    add_common(p)
    p.set_defaults(func=cmd_node)

    p = sub.add_parser("join", help="join the office over the LAN with an invite code")
    p.add_argument("code", help="the invite code, e.g. 42-otter-piano-ember")
    p.add_argument("--name", required=True, help="your user name, as on your invite")
    p.add_argument("--peer", default=None, metavar="HOST:PORT",
                   help="an admin node's join address (its log shows it)")  # fmt: skip
    p.add_argument("--sync-seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    add_common(p)
    p.set_defaults(func=cmd_join)

    p = sub.add_parser("peers", help="who is online, the admin node, and sync state")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_peers)
