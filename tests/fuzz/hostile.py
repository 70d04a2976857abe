"""What every fuzzer here shares: hostile-input strategies, a watchdog, and the one check.

- `damaged(samples)`: a valid sample after one to four edits (bit flip, byte
  overwrite, cut, insertion, truncation, extension, a splice from another
  sample, a repeated run, a lying length or varuint written over the bytes).
- `hostile(samples)`: that, or arbitrary bytes.
- `values` and `reshaped(value)`: canonical-codec values, and a valid value
  with nodes replaced, dropped, added or nudged across a size or range
  boundary: what an insider can sign.
- `outcome(call, *errors)`: run one decode under a watchdog; return its value,
  or None if it raised one of the project's errors named; anything else
  propagates and fails the test.

Nothing here knows a format; each test file builds its own valid samples with
the project's own encoders.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import TypeVar

from hypothesis import currently_in_test_context, event, settings
from hypothesis import strategies as st

from node import codec, crypto
from node.codec import MAX_DEPTH, Value
from node.errors import CryptoError

T = TypeVar("T")

# A decode takes microseconds to a few milliseconds; a deadline two orders of
# magnitude above that catches super-linear work without flaking on a busy CI box.
DEADLINE = timedelta(milliseconds=400)
FUZZ = settings(max_examples=200, deadline=DEADLINE)
HANG = 5.0  # seconds: a decode still running by then is stuck, and the test fails


class Hang(AssertionError):
    """A decoder ran past the watchdog: a test failure, which Hypothesis shrinks and reports
    with its example (it would not, for a BaseException)."""


@contextlib.contextmanager
def watchdog(seconds: float = HANG) -> Iterator[None]:
    """Fail, rather than hang CI, if the body loops for more than `seconds`.

    Hypothesis checks its deadline only after a call returns, so an endless
    loop needs this. SIGALRM interrupts Python code; a hang inside C code is
    left to the package's faulthandler backstop (tests/fuzz/conftest.py).
    """
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"a decode ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    outer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, *outer)  # an enclosing watchdog's, or none
        signal.signal(signal.SIGALRM, previous)


def outcome(call: Callable[[], T], *errors: type[Exception]) -> T | None:
    """`call()` under the watchdog: its value, or None if it raised one of `errors`.

    Any other exception fails the test. A refusal may reach a user, so it must
    say something, on one line.
    """
    try:
        with watchdog():
            value = call()
    except errors as exc:
        _note(f"refused: {type(exc).__name__}")
        message = str(exc)
        assert message, f"{type(exc).__name__} without a message"
        assert "\n" not in message, f"a message of more than one line: {message!r}"
        return None
    _note("accepted")
    return value


def _note(what: str) -> None:
    """Count outcomes (pytest --hypothesis-show-statistics): a fuzzer that never gets
    anything accepted, or never past one check, is not exploring."""
    if currently_in_test_context():
        event(what)


HEADER = crypto.ID_SIZE + crypto.SIG_SIZE


def signed(signer_id: bytes, key: crypto.SigningKeyPair, domain: bytes, office: bytes,
           body: bytes) -> bytes:  # fmt: skip
    """signer id | Ed25519(domain | office | body) | body: envelopes, tokens, records,
    checkpoints all travel so. With a real key: what an enrolled insider can send."""
    return signer_id + key.sign(domain + office + body) + body


def signature_holds(blob: bytes, domain: bytes, office: bytes, public: bytes | None) -> bool:
    """Does `blob` (in the wire form above) carry a valid signature by `public`?"""
    if public is None:
        return False
    try:
        crypto.verify(public, domain + office + blob[HEADER:], blob[crypto.ID_SIZE : HEADER])
    except CryptoError:
        return False
    return True


# -- damaged bytes -----------------------------------------------------------------------

EDITS = ("flip", "set", "delete", "insert", "truncate", "extend", "splice", "repeat", "lie")
# Written over the bytes by "lie": u32 lengths of codec and struct headers, and lib0
# varuints that are overlong, huge, or never end.
LIES = (
    b"\x00\x00\x00\x00",
    b"\x00\x00\x00\x01",
    b"\x7f\xff\xff\xff",
    b"\xff\xff\xff\xff",
    b"\x00\x01\x00\x00",
    b"\x80\x00",
    b"\xff\xff\xff\xff\x0f",
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
    b"\xff" * 12,
)
_BYTE = st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]) | st.integers(0, 255)


@st.composite
def _damaged(draw: st.DrawFn, samples: tuple[bytes, ...]) -> bytes:
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(EDITS))
        at = draw(st.integers(0, len(data)))
        if edit == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "set" and at < len(data):
            data[at] = draw(_BYTE)
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "truncate":
            del data[at:]
        elif edit == "extend":
            data += draw(st.binary(min_size=1, max_size=64))
        elif edit == "splice":  # a run of another valid sample (or this one) over these bytes
            donor = draw(st.sampled_from(samples))
            start = draw(st.integers(0, len(donor)))
            chunk = donor[start : start + draw(st.integers(1, 64))]
            end = at + len(chunk) if draw(st.booleans()) else at  # overwrite, or insert
            data[at:end] = chunk
        elif edit == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 32))]
        elif edit == "lie":
            lie = draw(st.sampled_from(LIES))
            data[at : at + len(lie)] = lie
    return bytes(data)


def damaged(samples: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """One of `samples` after one to four edits (see EDITS)."""
    return _damaged(tuple(samples))


def hostile(samples: Sequence[bytes], max_size: int = 512) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or a damaged valid sample (arbitrary bytes rarely pass a first check)."""
    return st.binary(max_size=max_size) | damaged(samples)


# -- codec values, and an insider's reshaping of a valid one ---------------------------

# Field names and tags of every schema: random maps built from these reach past
# "unknown field" checks into the typed reads behind them.
VOCABULARY = (
    "t", "vector", "records", "record_count", "term", "leader", "admin", "checkpoint",
    "blobs", "covered", "more", "ids", "blob", "nameplate", "pake", "session", "confirm",
    "sealed", "sync_port", "reason", "seq", "key_id", "at", "update", "office", "device",
    "sign_public", "box_public", "user", "role", "not_before", "not_after", "serial",
    "issuer", "kind", "parents", "data", "office_name", "root_public", "token", "request",
    "invite", "keys", "cutoff", "epoch", "root_sealed", "invite_id", "expires", "heads",
    "op", "secret", "theirs", "password", "salt", "ops", "mem", "meta", "entries",
    "sign_seed", "box_secret", "db_key", "root_seed", "genesis", "mac", "member",
    "status", "envelopes", "record_ids", "want_records", "hello", "welcome", "refused",
    "enroll", "revoke", "rotate", "argon2id", "error",
)  # fmt: skip
INTERESTING_INTS = (
    0, 1, -1, 2, 255, 256, 65_535, 65_536, 99_999, 100_000, 2**31 - 1, 2**31, 2**32 - 1,
    2**32, 2**40, 2**40 + 1, 2**53 - 1, 2**53, 2**62, codec.INT_MAX, codec.INT_MIN,
)  # fmt: skip
# Sizes the schemas check for: ids (16), keys and digests (32), signatures (64), PAKE (33).
INTERESTING_SIZES = (0, 1, 15, 16, 17, 24, 31, 32, 33, 48, 64, 80, 81)

scalars: st.SearchStrategy[Value] = (
    st.none()
    | st.booleans()
    | st.sampled_from(INTERESTING_INTS)
    | st.integers(codec.INT_MIN, codec.INT_MAX)
    | st.sampled_from(INTERESTING_SIZES).flatmap(lambda n: st.binary(min_size=n, max_size=n))
    | st.binary(max_size=40)
    | st.sampled_from(VOCABULARY)
    | st.text(max_size=20)
)
keys = st.sampled_from(VOCABULARY) | st.text(max_size=8)


def depth_of(value: Value) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


values: st.SearchStrategy[Value] = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
    max_leaves=16,
).filter(lambda v: depth_of(v) <= MAX_DEPTH)

Path = tuple[str | int, ...]


def _paths(value: Value, prefix: Path = ()) -> list[Path]:
    found = [prefix]
    if isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    return found


class _Drop:
    """Marks a node to remove."""


DROP = _Drop()


def _get(value: Value, path: Path) -> Value:
    for step in path:
        if isinstance(value, list) and isinstance(step, int):
            value = value[step]
            continue
        if isinstance(value, dict) and isinstance(step, str):
            value = value[step]
            continue
        raise AssertionError("a path that does not lead into the value")
    return value


def _put(value: Value, path: Path, new: Value | _Drop) -> Value:
    """`value` with the node at `path` replaced by `new` (DROP removes it)."""
    if not path:
        return None if isinstance(new, _Drop) else new
    head, rest = path[0], path[1:]
    if isinstance(value, list) and isinstance(head, int):
        items: list[Value] = list(value)
        if rest:
            items[head] = _put(items[head], rest, new)
        elif isinstance(new, _Drop):
            del items[head]
        else:
            items[head] = new
        return items
    if isinstance(value, dict) and isinstance(head, str):
        mapping: dict[str, Value] = dict(value)
        if rest:
            mapping[head] = _put(mapping[head], rest, new)
        elif isinstance(new, _Drop):
            del mapping[head]
        else:
            mapping[head] = new
        return mapping
    raise AssertionError("a path that does not lead into the value")


def _nudged(node: Value) -> list[Value]:
    """`node` pushed just across a boundary a schema may check: a size, a sign, a type."""
    if isinstance(node, bool):
        return [not node, int(node), None]
    if isinstance(node, int):
        near = [node - 1, node + 1, -node, 0, codec.INT_MAX, codec.INT_MIN]
        return [max(codec.INT_MIN, min(codec.INT_MAX, n)) for n in near]
    if isinstance(node, bytes):
        return [node[:-1], node + b"\x00", b"", node.hex(), [node]]
    if isinstance(node, str):
        return [node[:-1], node + "x", "", node.encode(), node.upper()]
    if isinstance(node, list):
        return [node[:-1], [*node, *node[-1:]], [*reversed(node)], {}]
    if isinstance(node, dict):
        return [{}, list(node.values()), None]
    return [None]


def _with(node: Value, key: str, extra: Value) -> Value:
    """`node` given one more item (a container), or `node` itself (a scalar)."""
    if isinstance(node, dict):
        return {**node, key: extra}
    if isinstance(node, list):
        return [*node, extra]
    return node


@st.composite
def _reshaped(draw: st.DrawFn, samples: tuple[Value, ...]) -> Value:
    value = draw(st.sampled_from(samples))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(value)))
        old = _get(value, path)
        edit = draw(st.sampled_from(("replace", "nudge", "nudge", "drop", "add")))
        if edit == "replace":
            value = _put(value, path, draw(values))
        elif edit == "nudge":
            value = _put(value, path, draw(st.sampled_from(_nudged(old))))
        elif edit == "drop" and path:
            value = _put(value, path, DROP)
        elif edit == "add":
            value = _put(value, path, _with(old, draw(keys), draw(values)))
    return value


def reshaped(samples: Sequence[Value]) -> st.SearchStrategy[bytes]:
    """The encoding of one of `samples` with one to three nodes replaced, nudged across a
    boundary, dropped or given a sibling: well-formed codec bytes of the wrong shape."""
    return _reshaped(tuple(samples)).filter(lambda v: depth_of(v) <= MAX_DEPTH).map(codec.encode)
