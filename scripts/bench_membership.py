"""Times the membership fold (run by scripts/bench_membership).

The fold is what every unlock and every admin command runs. Synthetic logs of 500-4,000
records: "linear" (one admin after another, the usual case) and "branching" (two admins
writing concurrently, merging every 10 records, the worst case the fold optimises for).
The first fold (which verifies every signature) is one run; the refold is the median of 5.
Each figure is printed and recorded (benchlib.record); none has a bar.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import benchlib

from node import crypto, joining, membership, records, tokens
from node.identity import capability
from node.records import Enroll, Genesis, Invite, Record
from node.tokens import Role

ROOT_KEY = crypto.SigningKeyPair.generate()
OFFICE = tokens.office_id_of(ROOT_KEY.public)


def admin(name: str, parents: list[bytes], at: int) -> tuple[crypto.SigningKeyPair, bytes]:
    key, box = crypto.SigningKeyPair.generate(), crypto.BoxKeyPair.generate()
    cap = capability(OFFICE, OFFICE, key.public, box.public, name, Role.ADMIN, at, 1)
    token = tokens.issue(cap, ROOT_KEY)
    request = joining.make_request(name, key, box.public)
    return key, records.sign(
        OFFICE, ROOT_KEY, OFFICE, parents, at, Enroll(token, request, None, {})
    )


def invite(key: crypto.SigningKeyPair, parents: list[bytes], at: int, i: int) -> bytes:
    payload = Invite(crypto.random_bytes(16), i % 9000 + 1, f"user{i}", "member", at + 100, {})
    return records.sign(tokens.device_id_of(key.public), key, OFFICE, parents, at, payload)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default="500,1000,2000,4000", help="invites per log, comma-separated"
    )
    sizes = [int(n) for n in parser.parse_args().sizes.split(",")]
    genesis = records.sign(OFFICE, ROOT_KEY, OFFICE, [], 1000, Genesis("Bench", ROOT_KEY.public))
    key_a, enrol_a = admin("a", [records.record_id(genesis)], 1001)
    key_b, enrol_b = admin("b", [records.record_id(enrol_a)], 1002)
    for shape in ("linear", "branching"):
        for n in sizes:
            blobs, heads = [genesis, enrol_a, enrol_b], [records.record_id(enrol_b)] * 2
            for i in range(n):
                if shape == "linear":
                    blob = invite(key_a if i % 2 else key_b, heads[:1], 2000 + i, i)
                    heads = [records.record_id(blob)] * 2
                elif i % 10 == 0:
                    blob = invite(key_a, sorted(set(heads)), 2000 + i, i)
                    heads = [records.record_id(blob)] * 2
                else:
                    j = i % 2
                    blob = invite(key_a if j else key_b, [heads[j]], 2000 + i, i)
                    heads[j] = records.record_id(blob)
                blobs.append(blob)
            fold_times(shape, n, blobs)
    return 0


def fold_times(shape: str, n: int, blobs: list[bytes]) -> None:
    cache: dict[bytes, Record] = {}
    t = time.perf_counter()
    first = membership.fold(ROOT_KEY.public, blobs, cache)
    cold = time.perf_counter() - t
    if len(first.valid) != n + 3:
        raise RuntimeError(f"fold kept {len(first.valid)} of {n + 3}: {first.invalid}")
    times = []
    for _ in range(5):
        t = time.perf_counter()
        membership.fold(ROOT_KEY.public, blobs, cache)
        times.append(time.perf_counter() - t)
    refold = statistics.median(times)
    print(
        f"{shape:9} {n + 3:5} records: first fold (verifying signatures) {cold * 1000:7.1f} ms, "
        f"refold median {refold * 1000:7.1f} ms",
        flush=True,
    )
    what = f"membership fold, {n + 3:,} records, {shape}"
    benchlib.record(f"{what}: first fold (verifying every signature), one run", cold * 1000, "ms")
    benchlib.record(f"{what}: refold, median of 5", refold * 1000, "ms")


if __name__ == "__main__":
    sys.exit(main())
