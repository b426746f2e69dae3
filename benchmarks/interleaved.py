"""Latency comparisons that survive a rerun: every compared index is loaded once, then R rounds run in which the
engines' query streams interleave (each query visits every engine, in an order shuffled per round), so drift of
the machine (other load, frequency, cache) falls on all engines alike. Per engine: the p50 of each round, their
median with a bootstrap interval over rounds; per pair: the paired latency ratio over rounds and the paired
top-10 overlap difference over queries, each with a bootstrap interval (scipy.stats.bootstrap). A PLAID point is
dominated with confidence only by a setting whose ratio interval lies below 1, whose overlap interval lies above
0, and whose resident bytes per token are no higher."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 2000


def interleaved_rounds(searches: dict[str, Callable[[int], Any]], n_queries: int, rounds: int, seed: int = 0
                       ) -> dict[str, list[float]]:
    """{engine: [p50 ms of round 1, ...]}. `searches[name](i)` searches query i with that engine."""
    rng = np.random.default_rng(seed)
    names = list(searches)
    out: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        order = [names[int(j)] for j in rng.permutation(len(names))]
        ms: dict[str, list[float]] = {name: [] for name in names}
        for i in range(n_queries):
            for name in order:
                t0 = time.perf_counter_ns()
                searches[name](i)
                ms[name].append((time.perf_counter_ns() - t0) / 1e6)
        for name in names:
            out[name].append(float(np.percentile(ms[name], 50)))
    return out


def _interval(samples: np.ndarray, statistic: Callable, seed: int) -> tuple[float, float, float]:
    point = float(statistic(samples))
    if len(samples) < 2 or np.all(samples == samples[0]):
        return point, point, point
    res = stats.bootstrap((samples,), statistic, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                          method="percentile", random_state=seed)
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)


def p50_interval(round_p50s: list[float], seed: int = 0) -> dict[str, float]:
    point, lo, hi = _interval(np.asarray(round_p50s, dtype=float), np.median, seed)
    return {"p50_ms": point, "p50_lo": lo, "p50_hi": hi}


def paired_ratio(ours: list[float], theirs: list[float], seed: int = 0) -> dict[str, float]:
    """Round by round ours/theirs; the geometric mean of the ratios with its interval over rounds."""
    logs = np.log(np.asarray(ours, dtype=float) / np.asarray(theirs, dtype=float))
    point, lo, hi = _interval(logs, np.mean, seed)
    return {"ratio": float(np.exp(point)), "ratio_lo": float(np.exp(lo)), "ratio_hi": float(np.exp(hi))}


def paired_overlap(ours: list[float], theirs: list[float], seed: int = 0) -> dict[str, float]:
    """Query by query ours - theirs (top-10 overlap with exact); the mean difference with its interval."""
    point, lo, hi = _interval(np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float), np.mean, seed)
    return {"overlap_diff": point, "overlap_diff_lo": lo, "overlap_diff_hi": hi}


def confident_dominance(rows: list[dict], rounds: dict[str, list[float]], per_query: dict[str, list[float]],
                        seed: int = 0) -> list[dict]:
    """For each PLAID row: every centroid setting compared with it (ratio, overlap difference, intervals) and
    `dominated_with_confidence` where one is faster and more accurate beyond its intervals at no more memory."""
    ours = [r for r in rows if r["engine"] == "centroid"]
    out = []
    for p in (r for r in rows if r["engine"] == "plaid"):
        key_p = f"{p['engine']}: {p['setting']}"
        compared = []
        for o in ours:
            key_o = f"{o['engine']}: {o['setting']}"
            c = {"setting": o["setting"], **paired_ratio(rounds[key_o], rounds[key_p], seed),
                 **paired_overlap(per_query[key_o], per_query[key_p], seed),
                 "memory_ok": o["resident_B_per_token"] <= p["resident_B_per_token"]}
            c["dominates"] = bool(c["memory_ok"] and c["ratio_hi"] < 1.0 and c["overlap_diff_lo"] > 0.0)
            compared.append(c)
        winners = [c["setting"] for c in compared if c["dominates"]]
        out.append({"plaid": p["setting"], "dominated_with_confidence": bool(winners), "dominated_by": winners,
                    "comparisons": compared})
    return out
