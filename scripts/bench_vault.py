"""Benchmarks of the vault document against issue 3's bars (run by scripts/bench_vault).

Everything runs in a temp folder with the production Argon2id profile; the
KDF is timed separately and subtracted from the open figure. Prints one line
per figure (median, and p95 where the bar is a p95) and PASS/FAIL, and records each
(benchlib.record) for scripts/bench.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib

from node import exporters, importers, keystore, onboarding
from node.datadir import DataDir
from node.vault import Vault

PROFILE = keystore.MODERATE
T0 = int(time.time())


def main() -> int:
    rng = random.Random(7)  # noqa: S311 (benchmark data, not secrets)
    results: list[bool] = []
    with tempfile.TemporaryDirectory() as tmp:
        pw = bytearray(b"benchmark password")
        bench_import(Path(tmp), pw, rng, results)
        bench_large(Path(tmp), pw, rng, results)
    print("all bars met" if all(results) else "some bars missed")
    return 0 if all(results) else 1


def bench_import(tmp: Path, pw: bytearray, rng: random.Random, results: list[bool]) -> None:
    # Bulk import of 1,000 entries: parse a CSV file, then add (durable), 3 fresh vaults.
    csv = exporters.export(benchlib.rows(1000, rng), "csv")
    imports = []
    for i in range(3):
        p = tmp / f"imp{i}"
        onboarding.create_office(p, "Bench", "admin", pw, T0, PROFILE).office.close()
        with Vault.open(p, pw, PROFILE) as vault:
            t = time.perf_counter()
            parsed, bad = importers.parse(csv, "csv")
            vault.add_many([r.fields for r in parsed], T0 + 1)
            imports.append((time.perf_counter() - t) * 1000)
            assert len(vault) == 1000 and not bad
    median = statistics.median(imports)
    results.append(
        benchlib.line(
            "bulk import of 1,000 entries (median of 3)",
            median,
            1000,
            promise=benchlib.PROMISE_BULK,
        )
    )


def bench_large(tmp: Path, pw: bytearray, rng: random.Random, results: list[bool]) -> None:
    path = tmp / "d"
    onboarding.create_office(path, "Bench", "admin", pw, T0, PROFILE).office.close()
    # A 10,000-entry vault: import it, then reopen.
    with Vault.open(path, pw, PROFILE) as vault:
        vault.add_many(benchlib.rows(10_000, rng), T0 + 2)
    kdf, opens = [], []
    for _ in range(5):
        t = time.perf_counter()
        keystore.read(DataDir(path).keystore, pw, PROFILE)
        kdf.append(time.perf_counter() - t)
        t = time.perf_counter()
        vault = Vault.open(path, pw, PROFILE)
        opens.append(time.perf_counter() - t)
        assert len(vault) == 10_000
        vault.close()
    open_ms = (statistics.median(opens) - statistics.median(kdf)) * 1000
    results.append(
        benchlib.line(
            "open + unlock 10,000 entries, excluding the KDF",
            open_ms,
            500,
            extra=f"  (with KDF {statistics.median(opens) * 1000:.0f} ms)",
        )
    )

    with Vault.open(path, pw, PROFILE) as vault:
        titles = [s.title for s in vault.entries()]
        queries = [rng.choice(titles)[: rng.randint(2, 8)] for _ in range(300)]
        queries += ["acme", "zzz-nothing", "user12", "https://vpn"]
        times = []
        for q in queries:
            t = time.perf_counter()
            vault.entries(search=q)
            times.append((time.perf_counter() - t) * 1000)
        name = f"search over 10,000 entries, p95 of {len(queries)} queries"
        median = statistics.median(times)
        results.append(
            benchlib.line(name, benchlib.pct(times, 95), 16, extra=f"  (median {median:.1f} ms)")
        )

        adds, edits = [], []
        made = []
        for i, fields in enumerate(benchlib.rows(100, rng)):
            t = time.perf_counter()
            made.append(vault.add(fields, T0 + 10 + i))
            adds.append((time.perf_counter() - t) * 1000)
        for i, entry in enumerate(made):
            t = time.perf_counter()
            vault.edit(entry, {"password": f"changed-{i}-{rng.random()}"}, T0 + 200 + i)
            edits.append((time.perf_counter() - t) * 1000)
        results.append(
            benchlib.line(
                "one add, durable (median of 100)",
                statistics.median(adds),
                10,
                extra=f"  (p95 {benchlib.pct(adds, 95):.1f} ms)",
            )
        )
        results.append(
            benchlib.line(
                "one edit, durable (median of 100)",
                statistics.median(edits),
                10,
                extra=f"  (p95 {benchlib.pct(edits, 95):.1f} ms)",
            )
        )


if __name__ == "__main__":
    sys.exit(main())
