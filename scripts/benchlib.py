"""What the benchmark scripts under scripts/ share: sample entries, percentiles, verdict
lines, and the recorder scripts/bench reads.

Every figure a benchmark prints also goes to `record`, which appends one JSON line to the
file named by OV_BENCH_RECORD when that is set (scripts/bench sets it, one file per
benchmark) and does nothing otherwise. The recorder writes; it never judges a figure
twice: the verdict recorded is the one printed.
"""

from __future__ import annotations

import json
import math
import os
import random
import string

RECORD_ENV = "OV_BENCH_RECORD"

# The original plan's promises (shared/PRODUCT.md, "Promises to beat").
PROMISE_CHANGE = "1-3 s (a change reaches every PC)"
PROMISE_BULK = "5-10 s (bulk of 100+ entries)"
PROMISE_FIRST_SYNC = "30-60 s (first sync of a new PC)"
PROMISE_MEMORY = "~100 MB (memory per app)"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def record(
    figure: str,
    value: float,
    unit: str,
    bar: float | None = None,
    promise: str | None = None,
    passed: bool | None = None,
    detail: str = "",
) -> None:
    """Append one figure to the file named by OV_BENCH_RECORD; nothing if it is unset.

    `bar` is the most the figure may be (None: it has no bar, and `passed` is None);
    `promise` is the original plan's promise it answers, as text. A value that is not a
    finite number (nothing was measured) is recorded as null.
    """
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    entry = {
        "figure": figure,
        "value": value if math.isfinite(value) else None,
        "unit": unit,
        "bar": bar,
        "promise": promise,
        "passed": passed,
        "detail": detail.strip().removeprefix("(").removesuffix(")").strip(),
    }
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def line(
    name: str,
    value: float,
    bar: float,
    unit: str = "ms",
    extra: str = "",
    width: int = 52,
    *,
    promise: str | None = None,
    figure: str | None = None,
    ok: bool = True,
) -> bool:
    """Print one figure against its bar and record it; True if it meets the bar.

    `ok` False fails the figure whatever its value (e.g. some arrivals never came);
    `figure` names it in the record when the printed name needs its context.
    """
    passed = value <= bar and ok
    verdict = "PASS" if passed else "FAIL"
    shown = f"{value:8.2f}" if unit == "s" else f"{value:8.1f}"
    print(f"{name:{width}} {shown} {unit:2}  (bar {bar:g} {unit}) {verdict}{extra}", flush=True)
    record(figure or name.strip(), value, unit, bar, promise, passed, extra)
    return passed


def rows(n: int, rng: random.Random) -> list[dict[str, str]]:
    """`n` plausible entries (titles, users, URLs, categories), reproducible from `rng`."""
    words = ["mail", "bank", "wifi", "printer", "router", "crm", "vpn", "payroll", "shop", "nas"]
    cats = ["Work", "WiFi", "Finance", "Servers", "Shared"]
    out = []
    for i in range(n):
        w = rng.choice(words)
        out.append({
            "title": f"{w.title()} {i} {''.join(rng.choices(string.ascii_lowercase, k=6))}",
            "username": f"user{i}@acme.example",
            "password": "".join(rng.choices(string.ascii_letters + string.digits, k=20)),
            "url": f"https://{w}{i}.acme.example/login",
            "category": rng.choice(cats),
            "notes": "",
        })  # fmt: skip
    return out
