"""What the benchmark scripts under scripts/ share: sample entries, percentiles, verdict lines."""

from __future__ import annotations

import random
import string


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(
    name: str, value: float, bar: float, unit: str = "ms", extra: str = "", width: int = 52
) -> bool:
    """Print one figure against its bar; True if it meets the bar."""
    ok = value <= bar
    verdict = "PASS" if ok else "FAIL"
    shown = f"{value:8.2f}" if unit == "s" else f"{value:8.1f}"
    print(f"{name:{width}} {shown} {unit:2}  (bar {bar:g} {unit}) {verdict}{extra}", flush=True)
    return ok


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
