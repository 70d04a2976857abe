"""Fuzzing the Y update bytes inside every envelope: crdt.yupdate `decode` and
`state_vector`, crdt.rules `check`, and pycrdt behind them (crdt.vaultdoc `VaultDoc`).

Threats: an enrolled author signs update bytes built to crash or confuse the
strict decoder (overlong or huge varuints, lying counts and lengths, struct
kinds the vault never writes), or with a second spelling of one update; and,
behind the decoder, updates the rules let through that make yrs panic, crash
the process, or leave two replicas with different documents depending on the
order their envelopes arrived in. decode, state_vector and check raise only
UpdateError; what decode accepts is the one encoding of the update it read;
what check accepts applies to a document without any error and converges.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable
from typing import NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from crdt import rules, yupdate
from crdt.errors import UpdateError
from crdt.rules import ROOT, version_key
from crdt.vaultdoc import VaultDoc
from crdt.yupdate import DeleteRange, Item, ItemId, Update, uint
from node import envelopes
from tests.fuzz.hostile import FUZZ, damaged, hostile, outcome, watchdog
from tests.fuzz.samples import updates
from tests.node.membership_builders import A

CLIENT = envelopes.client_id_of(A.id)
GENUINE = updates(A)  # add (clock 0), edit + trash (1-2), purge with a delete (3)
FIRST_CLOCKS = (0, 1, 3)

# Regression examples: attacks on yrs the decoder must stop, as literals.
ATTACKS = {
    # two sections of one client with overlapping clocks: yrs segfaults (y_update_format.md)
    "overlapping sections of one client": bytes.fromhex(
        "0201e80700280107656e7472696573026b310174010101e80700280107656e7472696573026b320174010200"
    ),
    "overlong varuint client (yrs truncates it)": bytes.fromhex(
        "0101e8878080800000280107656e7472696573026b310174010100"
    ),
    "struct count of 2**35": bytes.fromhex("0180808080800101e807"),
    "buffer length past the end": bytes.fromhex("0101e80700280107656e7472696573026b317403ff"),
}


def _text(value: str) -> bytes:
    raw = value.encode()
    return uint(len(raw)) + raw


def _id(item_id: ItemId) -> bytes:
    return uint(item_id.client) + uint(item_id.clock)


def _item(item: Item) -> bytes:
    info = (0x80 if item.origin else 0) | (0x27 if item.is_map else 0x28)
    out = bytes([info])
    if item.origin is not None:
        out += _id(item.origin)
    else:
        if item.parent_root is not None:
            out += uint(1) + _text(item.parent_root)
        else:
            assert item.parent_item is not None
            out += uint(0) + _id(item.parent_item)
        assert item.key is not None
        out += _text(item.key)
    if item.value is None:
        return out + uint(1)
    if isinstance(item.value, bytes):
        return out + uint(1) + bytes([116]) + uint(len(item.value)) + item.value
    return out + uint(1) + bytes([119]) + _text(item.value)


def encode(update: Update) -> bytes:
    """The one encoding of `update` (yupdate has no encoder: the vault's come from pycrdt)."""
    out = bytearray()
    if update.client is None:
        out += uint(0)
    else:
        out += uint(1) + uint(len(update.items)) + uint(update.client) + uint(update.first_clock)
        for item in update.items:
            out += _item(item)
    by_client: dict[int, list[DeleteRange]] = {}
    for span in update.deletes:
        by_client.setdefault(span.client, []).append(span)
    out += uint(len(by_client))
    for client, spans in by_client.items():
        out += uint(client) + uint(len(spans))
        for span in spans:
            out += uint(span.clock) + uint(span.length)
    return bytes(out)


# -- structured updates ----------------------------------------------------------------

clients = st.sampled_from([0, 1, CLIENT, yupdate.MAX_CLIENT]) | st.integers(0, yupdate.MAX_CLIENT)
clocks = st.sampled_from([0, 1, 127, 128, yupdate.MAX_CLOCK]) | st.integers(0, 2**20)
item_ids = st.builds(ItemId, clients, clocks)
names = st.sampled_from([ROOT, "", "k", "entries\x00", "3e8.0"]) | st.text(max_size=8)


@st.composite
def items(draw: st.DrawFn, item_id: ItemId) -> Item:
    origin = draw(st.none() | item_ids)
    root = draw(st.none() | names) if origin is None else None
    parent = draw(item_ids) if origin is None and root is None else None
    key = draw(names) if origin is None else None
    value = draw(st.none() | st.binary(max_size=24) | st.text(max_size=8))
    return Item(item_id, origin, root, parent, key, value)


@st.composite
def structured(draw: st.DrawFn) -> Update:
    """Any update of the subset the decoder reads: items of every allowed shape, deletes."""
    client, first = draw(clients), draw(st.integers(0, 2**16))
    count = draw(st.integers(0, 4))
    found = tuple(draw(items(ItemId(client, first + i))) for i in range(count))
    spans = draw(st.lists(st.builds(DeleteRange, clients, clocks, st.integers(1, 2**10)),
                          max_size=4))  # fmt: skip
    by_client: dict[int, list[DeleteRange]] = {}
    for span in spans:
        by_client.setdefault(span.client, []).append(span)
    deletes = tuple(span for group in by_client.values() for span in group)
    return Update(client if found else None, first if found else 0, found, deletes)


SAMPLES = [*GENUINE, *ATTACKS.values()]
any_update = (
    hostile(SAMPLES, max_size=200)
    | structured().map(encode)
    | damaged([encode(u) for u in (Update(CLIENT, 5, (), (DeleteRange(1, 2, 3),)),)])
)


def test_the_samples_are_valid() -> None:
    """Control: the encoder here writes pycrdt's bytes, and every genuine update passes."""
    for update, first in zip(GENUINE, FIRST_CLOCKS, strict=True):
        assert encode(yupdate.decode(update)) == update
        rules.check(update, CLIENT, first, may_delete=True)


def test_the_attacks_are_refused() -> None:
    for data in ATTACKS.values():
        assert outcome(functools.partial(yupdate.decode, data), UpdateError) is None


@FUZZ
@given(any_update)
def test_an_update_is_refused_or_canonical(data: bytes) -> None:
    """Threat: update bytes that crash the decoder, or decode although another spelling of the
    same update exists (what the author signed and what replicas read could differ)."""
    update = outcome(lambda: yupdate.decode(data), UpdateError)
    if update is not None:
        assert encode(update) == data
    outcome(lambda: yupdate.state_vector(data), UpdateError)


@FUZZ
@given(any_update, st.sampled_from([CLIENT, 1]), st.sampled_from(FIRST_CLOCKS), st.booleans())
def test_check_accepts_only_new_entry_values_of_the_author(
    data: bytes, client: int, first: int, may_delete: bool
) -> None:
    """Threat: an update with items under another client id, off the author's clock, nested,
    with an origin, under a foreign key, or deleting without the right, passes the rules."""
    change = outcome(lambda: rules.check(data, client, first, may_delete), UpdateError)
    if change is not None:
        keys = [version_key(client, first + i) for i in range(len(change.values))]
        assert [key for key, _ in change.values] == keys
        assert change.end_clock == first + len(keys)
        assert may_delete or not change.deletes
        assert change.values or change.deletes


# -- what the rules let through, applied by pycrdt ----------------------------------------

DEVICES = (CLIENT, 1, yupdate.MAX_CLIENT)


class Delivery(NamedTuple):
    """One envelope's update as the op log hands it to the document."""

    device: int
    first: int  # the clock it starts at
    end: int  # the clock after it
    update: bytes
    valid: bool  # judged valid (applied), or not (its clocks filled with a GC struct)


@st.composite
def chains(draw: st.DrawFn) -> list[Delivery]:
    """Per device, a run of updates that pass `check`, each continuing the clock of the one
    before, some with deletes of any range, some judged invalid."""
    out = []
    for device in DEVICES:
        clock = 0
        for _ in range(draw(st.integers(0, 3))):
            values = draw(st.lists(st.binary(max_size=16), max_size=3))
            spans = st.builds(DeleteRange, st.sampled_from(DEVICES), st.integers(0, 8),
                              st.integers(1, 2**32 - 9))  # fmt: skip
            deletes = draw(st.lists(spans, max_size=2, unique_by=lambda s: s.client))
            found = tuple(
                Item(ItemId(device, clock + i), None, ROOT, None, version_key(device, clock + i), v)
                for i, v in enumerate(values)
            )
            update = encode(Update(device if found else None, clock if found else 0, found,
                                   tuple(deletes)))  # fmt: skip
            try:
                end = rules.check(update, device, clock, may_delete=True).end_clock
            except UpdateError:  # an empty update: the rules refuse it, the log skips it
                continue
            out.append(Delivery(device, clock, end, update, draw(st.integers(0, 4)) > 0))
            clock = end
    return out


def _replay(log: Iterable[Delivery]) -> dict[str, bytes]:
    doc = VaultDoc(CLIENT)
    for delivery in log:
        if delivery.valid:
            doc.apply(delivery.update)  # no error of any kind: these passed the rules
        else:
            doc.skip(delivery.device, delivery.first, delivery.end)
    return dict(doc.items())


@settings(FUZZ, max_examples=150)
@given(chains(), st.randoms(use_true_random=False))
def test_updates_the_rules_accept_apply_and_converge(
    log: list[Delivery], rng: random.Random
) -> None:
    """Threat: updates that pass the rules (deletes of any range, clocks skipped for invalid
    envelopes) make yrs raise, panic or crash, or leave replicas that got them in different
    interleavings (each device's own in order, as the op log delivers) with different
    documents."""
    with watchdog():
        assert _replay(log) == _replay(_interleaved(log, rng))


def _interleaved(log: list[Delivery], rng: random.Random) -> list[Delivery]:
    """The same updates, each device's still in order, devices interleaved at random."""
    queues = {device: [d for d in log if d.device == device] for device in DEVICES}
    out: list[Delivery] = []
    while any(queues.values()):
        device = rng.choice([d for d, queue in queues.items() if queue])
        out.append(queues[device].pop(0))
    return out
