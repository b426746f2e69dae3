"""Progress on long work: a tqdm bar on a terminal (none in logs), and one summary line per phase."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


MIN_ITEMS = 50  # shorter loops (a one-query latency call) get no bar: nothing to watch, and no overhead


def bar(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """tqdm with rate and ETA where stderr is a terminal; silent otherwise (no bar spam in logs)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if total is not None and total < MIN_ITEMS:
        return iter(items)
    return iter(tqdm(items, desc=desc, total=total, unit=unit, disable=None, leave=False, file=sys.stderr))


def phase_line(what: str, seconds: float, **facts: Any) -> None:
    """One line per finished phase, for logs: `[flmr-bench] index dpr/full: built faiss in 1.2s (vectors=576)`."""
    extra = ", ".join(f"{k}={v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{k}={v}"
                      for k, v in facts.items())
    note(f"{what} in {seconds:.1f}s" + (f" ({extra})" if extra else ""))


def note(message: str) -> None:
    """One `[flmr-bench]` line on stderr, written above any open tqdm bar instead of through it."""
    tqdm.write(f"[flmr-bench] {message}", file=sys.stderr)
    sys.stderr.flush()


def batched(items: list[T], size: int, desc: str = "encode") -> Iterator[list[T]]:
    """Consecutive slices of `items`, with a bar (items/s, ETA) where stderr is a terminal."""
    starts = range(0, len(items), size)
    for i in bar(starts, desc, total=len(starts), unit="batch"):
        yield items[i : i + size]
