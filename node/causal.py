"""Causal order of a DAG of records, and the state of each record's causal past.

Records name the records their author had seen as parents. `causal_order`
sorts the records whose ancestors have all arrived by (height, id) and gives
each an ancestor set as a bitmask over that order; the rest wait. `Pasts`
walks that order once and hands out, for each record, the state of exactly
its ancestors (among the records judged valid so far). What a state is and
how a record joins it comes from membership_state.py; what is valid is the
fold's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from node.membership_state import State, apply
from node.records import Record


@dataclass(frozen=True)
class Dag:
    order: list[Record]
    index: dict[bytes, int]  # record id -> position in `order`
    ancestors: dict[bytes, int]  # record id -> bitmask of ancestor positions

    def record(self, record_id: bytes) -> Record:
        return self.order[self.index[record_id]]

    def descends(self, child: bytes, ancestor: bytes) -> bool:
        """Had the author of `child` seen `ancestor`?"""
        return bool(self.ancestors[child] >> self.index[ancestor] & 1)


def causal_order(verified: dict[bytes, Record]) -> tuple[Dag, set[bytes]]:
    """The DAG of every record whose ancestors are all here, and the ids still waiting."""
    waiting = {rid: len(rec.parents) for rid, rec in verified.items()}
    children: dict[bytes, list[bytes]] = {}
    for rid, rec in verified.items():
        for p in rec.parents:
            children.setdefault(p, []).append(rid)
    height: dict[bytes, int] = {}
    ready = [rid for rid, n in waiting.items() if n == 0]
    while ready:  # Kahn's algorithm: iterative, so a hostile log cannot blow the stack
        rid = ready.pop()
        height[rid] = 1 + max((height[p] for p in verified[rid].parents), default=0)
        for child in children.get(rid, []):
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    order = sorted((verified[r] for r in height), key=lambda r: (height[r.id], r.id))
    index = {r.id: i for i, r in enumerate(order)}
    ancestors: dict[bytes, int] = {}
    for rec in order:
        mask = 0
        for p in rec.parents:
            mask |= ancestors[p] | (1 << index[p])
        ancestors[rec.id] = mask
    return Dag(order, index, ancestors), {rid for rid in verified if rid not in height}


class Pasts:
    """States of causal pasts, walked once in fold order, in linear time for usual logs.

    Most logs are nearly linear: a record's past is usually every record
    before it, which is the running prefix state. For a record made
    concurrently, its past is the state after its "richest" parent plus the
    few valid records its other parents bring; the states after such parents
    are kept as snapshots. `apply` is a join, so adding records to a copy in
    any order gives the same state.
    """

    def __init__(self, dag: Dag, valid: set[bytes], empty: Callable[[], State]) -> None:
        self.order, self.ancestors, self.index = dag.order, dag.ancestors, dag.index
        self.valid, self.empty = valid, empty
        self.prefix = empty()
        self.snapshots: dict[int, State] = {}
        self.current: State = self.prefix
        self.current_index = -1
        self.needed = {
            self.index[p]
            for i, r in enumerate(self.order)
            if self.ancestors[r.id] != (1 << i) - 1
            for p in r.parents
        }

    def at(self, i: int) -> State:
        rec = self.order[i]
        mask = self.ancestors[rec.id]
        self.current_index = i
        if mask == (1 << i) - 1:
            self.current = self.prefix
            return self.prefix
        if not rec.parents:  # a second "genesis" or other root-less record: nothing before it
            self.current = self.empty()
            return self.current
        richest = max(rec.parents, key=lambda p: (self.ancestors[p].bit_count(), p))
        j = self.index[richest]
        state = self.snapshots[j].copy()
        extra = mask & ~(self.ancestors[richest] | (1 << j))
        while extra:
            low = extra & -extra
            k = low.bit_length() - 1
            if self.order[k].id in self.valid:
                apply(state, self.order[k])
            extra ^= low
        self.current = state
        return state

    def advance(self, i: int) -> None:
        """Record `order[i]` (after it was judged, or skipped) into the running states."""
        rec = self.order[i]
        if i in self.needed and self.current_index != i:
            self.at(i)  # a record this phase does not judge still anchors later pasts
        is_valid = rec.id in self.valid
        if is_valid:
            apply(self.prefix, rec)
        if i in self.needed:
            if self.current is self.prefix:
                snapshot = self.prefix.copy()
            else:
                snapshot = self.current
                if is_valid:
                    apply(snapshot, rec)
            self.snapshots[i] = snapshot
        self.current = self.prefix
