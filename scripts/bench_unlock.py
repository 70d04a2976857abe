"""What unlocking costs with the production password hash (run by scripts/bench_unlock).

Creates a throwaway office in a temp folder with Argon2id MODERATE (as `vault-admin init`
does), unlocks it N times and prints the median; records both figures (benchlib.record).
Neither has a bar: the KDF is meant to be slow.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib

from node import keystore, onboarding
from node.office import Office


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 5
    with tempfile.TemporaryDirectory() as tmp:
        pw = bytearray(b"benchmark password")
        t = time.perf_counter()
        created = onboarding.create_office(
            Path(tmp) / "d", "Bench", "admin", pw, int(time.time()), keystore.MODERATE
        )
        created.office.close()
        create = time.perf_counter() - t
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            Office.unlock(Path(tmp) / "d", pw, keystore.MODERATE).close()
            times.append(time.perf_counter() - t)
    median = statistics.median(times)
    print(
        f"Argon2id MODERATE (3 passes, 256 MiB): creating an office {create:.2f} s (one run); "
        f"unlock median {median:.2f} s over {runs} runs "
        f"(min {min(times):.2f}, max {max(times):.2f})"
    )
    benchlib.record(
        "creating an office as `vault-admin init` does (Argon2id MODERATE), one run", create, "s"
    )
    benchlib.record(
        f"unlock with Argon2id MODERATE (3 passes, 256 MiB), median of {runs}",
        median,
        "s",
        detail=f"min {min(times):.2f}, max {max(times):.2f}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
