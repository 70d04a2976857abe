"""What a killed writer said it saved, what the reopened vault holds, and the verdict.

`parse` reads the writer's stdout (tests/crash/writer.py): the saves it reported,
and the one write under way when it died, if any (it may or may not have
committed). `observe` reads an open vault: per entry, its current title, whether
it is in the trash, and its history. `check` compares them against what was
known before the round:

- lost: a reported save that is not there (an add whose entry is gone, an edit
  whose title is in no version, fewer trash or restore versions than reported),
  or an entry whose current title or trash state is older than the last
  reported save (and not the write under way);
- unexpected: anything nobody reported and the write under way does not explain
  (an entry, a title, a trash or restore version), and conflicts, which one
  writer never makes.

It does no I/O besides `observe`'s reads, so the checker itself is tested with
tables (tests/crash/test_ledger.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from node.vault import Vault

ADDS = ("add", "add_many")
STATUS = ("trash", "restore")
TITLED = ("added", "changed")  # the VersionView kinds that carry a title


@dataclass(frozen=True)
class Save:
    kind: str  # add, add_many, edit, trash, restore
    entry: str
    marker: str  # the title it wrote; "-" for trash and restore


@dataclass(frozen=True)
class Intent:
    kind: str
    entry: str  # "-" for an add: its id is not known before it returns
    markers: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    saves: tuple[Save, ...]
    pending: Intent | None  # the write under way, whose markers were not reported saved
    ready: bool
    failed: str | None  # "<error type> <message>" of --until-error's failure
    reopening: bool = False  # it died closing or opening the vault again


def parse(text: str) -> Report:
    """The writer's complete lines (a line cut by the kill was never a report)."""
    saves: list[Save] = []
    pending: Intent | None = None
    ready, failed, reopening = False, None, False
    for line in text.split("\n")[:-1]:
        word, _, rest = line.partition(" ")
        reopening = word == "reopening"
        if word == "ready":
            ready = True
        elif word == "intent":
            kind, entry, markers = rest.split(" ")
            pending = Intent(kind, entry, tuple(markers.split(",")))
        elif word == "saved":
            kind, entry, marker = rest.split(" ")
            if pending is None or pending.kind != kind or marker not in pending.markers:
                raise ValueError(f"the writer reported a save it did not announce: {line!r}")
            saves.append(Save(kind, entry, marker))
            left = tuple(m for m in pending.markers if m != marker)
            pending = Intent(kind, pending.entry, left) if left else None
        elif word == "failed":
            failed = rest
        elif word not in ("reopening", "reopen"):
            raise ValueError(f"the writer printed something unknown: {line!r}")
    return Report(tuple(saves), pending, ready, failed, reopening)


@dataclass(frozen=True)
class Seen:
    """One entry as the vault shows it."""

    title: str
    trashed: bool
    titles: tuple[str, ...]  # the titles of its add and edit versions
    trashes: int = 0
    restores: int = 0
    conflict: bool = False


def observe(vault: Vault) -> dict[str, Seen]:
    """Every entry of an open vault, in and out of the trash."""
    out = {}
    for summary in [*vault.entries(), *vault.entries(trash=True)]:
        history = vault.history(summary.id)
        kinds = Counter(v.kind for v in history)
        titles = tuple(v.fields.get("title", "") for v in history if v.kind in TITLED)
        out[summary.id] = Seen(summary.title, summary.trashed, titles, kinds["trashed"],
                               kinds["restored"], summary.conflict)  # fmt: skip
    return out


@dataclass
class _Expect:
    """What must be there: built from what was known, then each reported save."""

    title: str
    trashed: bool
    titles: set[str] = field(default_factory=set)
    trashes: int = 0
    restores: int = 0


@dataclass
class Verdict:
    checked: int = 0  # reported saves found in the vault
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    in_flight_committed: bool = False  # the write under way at the kill is in the vault


def check(
    known: Mapping[str, Seen], report: Report, seen: Mapping[str, Seen], may_commit: bool = True
) -> Verdict:
    """Judge a reopened vault (`seen`) by what was `known` before the round and the `report`.

    `may_commit`: whether the write under way may have reached the vault (a kill);
    False after a reported failure, which must have saved nothing.
    """
    verdict = Verdict()
    expect = _expected(known, report, verdict)
    _find_each_save(known, report, seen, verdict)
    pending = report.pending if may_commit else None
    for entry, want in expect.items():
        if entry in seen:
            _judge_entry(entry, want, seen[entry], known.get(entry), pending, verdict)
        elif entry in known:
            verdict.lost.append(f"{entry}: the entry is gone (it was there before this round)")
    _judge_new(set(seen) - set(expect), seen, pending, verdict)
    return verdict


def _expected(known: Mapping[str, Seen], report: Report, verdict: Verdict) -> dict[str, _Expect]:
    expect = {
        e: _Expect(s.title, s.trashed, set(s.titles), s.trashes, s.restores)
        for e, s in known.items()
    }
    for save in report.saves:
        want = expect.get(save.entry)
        if save.kind in ADDS:
            if want is not None:
                verdict.unexpected.append(f"{save.entry}: reported added twice")
            expect[save.entry] = _Expect(save.marker, False, {save.marker})
        elif want is None:
            verdict.unexpected.append(f"{save.entry}: a {save.kind} of an entry never added")
        elif save.kind == "edit":
            want.title = save.marker
            want.titles.add(save.marker)
        elif save.kind == "trash":
            want.trashed, want.trashes = True, want.trashes + 1
        else:
            want.trashed, want.restores = False, want.restores + 1
    return expect


def _find_each_save(
    known: Mapping[str, Seen], report: Report, seen: Mapping[str, Seen], verdict: Verdict
) -> None:
    """Each reported save on its own: its title in a version, its trash or restore counted."""
    counted: Counter[tuple[str, str]] = Counter()
    for save in report.saves:
        got = seen.get(save.entry)
        if got is None:
            verdict.lost.append(f"saved {save.kind} {save.entry} {save.marker}: no such entry")
        elif save.kind in STATUS:
            counted[save.entry, save.kind] += 1
        elif save.marker in got.titles:
            verdict.checked += 1
        else:
            verdict.lost.append(f"saved {save.kind} {save.entry} {save.marker}: no such version")
    for (entry, kind), reported in counted.items():
        before = known.get(entry)
        field_name = "trashes" if kind == "trash" else "restores"
        base = getattr(before, field_name) if before is not None else 0
        found = min(reported, max(0, getattr(seen[entry], field_name) - base))
        verdict.checked += found
        verdict.lost += [f"saved {kind} {entry}: no such version"] * (reported - found)


def _judge_entry(
    entry: str,
    want: _Expect,
    got: Seen,
    before: Seen | None,
    pending: Intent | None,
    verdict: Verdict,
) -> None:
    """The entry's current state is the last reported one, or the write under way's."""
    mine = pending if pending is not None and pending.entry == entry else None
    titles = {want.title}
    trashed = {want.trashed}
    extra = {"trashes": 0, "restores": 0}
    if mine is not None and mine.kind == "edit":
        titles.add(mine.markers[0])
    elif mine is not None and mine.kind in STATUS:
        trashed.add(mine.kind == "trash")
        extra["trashes" if mine.kind == "trash" else "restores"] = 1
    if got.title not in titles and got.title in want.titles:  # else unexpected, below
        verdict.lost.append(f"{entry}: shows title {got.title!r}, last saved {want.title!r}")
    if got.trashed not in trashed:
        verdict.lost.append(f"{entry}: trashed={got.trashed}, last saved trashed={want.trashed}")
    stray = set(got.titles) - titles - want.titles
    if stray:
        verdict.unexpected.append(f"{entry}: titles nobody saved: {sorted(stray)}")
    for name, allowed in extra.items():
        more = getattr(got, name) - getattr(want, name)
        if more > allowed:
            verdict.unexpected.append(f"{entry}: {more} {name} nobody saved")
        gone = getattr(before, name) - getattr(got, name) if before is not None else 0
        if gone > 0:  # found in an earlier round (this round's are counted per save)
            verdict.lost.append(f"{entry}: {gone} {name} gone since an earlier round")
    if got.conflict:
        verdict.unexpected.append(f"{entry}: a conflict (one writer never makes one)")
    if mine is not None and (got.title != want.title or got.trashed != want.trashed):
        verdict.in_flight_committed = True


def _judge_new(
    entries: set[str], seen: Mapping[str, Seen], pending: Intent | None, verdict: Verdict
) -> None:
    """Entries nobody reported: only the add under way may explain them, each title once."""
    markers = set(pending.markers) if pending is not None and pending.kind in ADDS else set()
    for entry in sorted(entries):
        got = seen[entry]
        fresh = got.titles == (got.title,) and got.title in markers and not got.trashed
        if fresh and got.trashes == got.restores == 0:
            markers.discard(got.title)
            verdict.in_flight_committed = True
        else:
            verdict.unexpected.append(f"{entry}: an entry nobody reported adding ({got.title!r})")
