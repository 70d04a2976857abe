"""Run one of this package's Hypothesis fuzzers under atheris, coverage-guided, for as long as
you like (CI runs them through pytest only, with a fixed number of examples).

    pip install atheris    # not a project dependency: only for long local runs
    python -m tests.fuzz.atheris_run --list
    python -m tests.fuzz.atheris_run \\
        test_codec_fuzz::test_damaged_encodings_are_refused_or_canonical -max_total_time=600

libFuzzer options (-max_total_time, -runs, -jobs, a corpus folder) follow the
test's name; `--list` prints every test it can drive. atheris feeds the
test's own strategies (Hypothesis's `fuzz_one_input`), instruments node/,
crdt/ and discovery/ for coverage, and stops at the first failure, which
Hypothesis reports as usual (and keeps in .hypothesis/ for pytest to replay).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

PACKAGE = "tests.fuzz"
INSTRUMENTED = ["node", "crdt", "discovery"]


def fuzz_tests() -> Iterator[tuple[str, Callable[[bytes], object]]]:
    """(module::name, its fuzz_one_input) for every Hypothesis test in this package."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        for name, test in sorted(vars(module).items()):
            handle = getattr(test, "hypothesis", None)
            if name.startswith("test_") and handle is not None:
                yield f"{info.name}::{name}", handle.fuzz_one_input


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    atheris = importlib.import_module("atheris")  # optional: imported only here
    with atheris.instrument_imports(include=INSTRUMENTED):
        targets = dict(fuzz_tests())
    if argv[1] == "--list":
        print("\n".join(targets))
        return 0
    if argv[1] not in targets:
        print(f"no fuzz test {argv[1]!r}; --list shows them", file=sys.stderr)
        return 2
    atheris.Setup([argv[0], *argv[2:]], targets[argv[1]])
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
