"""Paired bootstrap over queries: every method is resampled with the same query indices (same seed, same
sorted query ids), so intervals and differences between rows are paired."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def confidence_interval(values: Mapping[str, float], resamples: int, seed: int, level: float = 0.95
                        ) -> tuple[float, float]:
    """Percentile interval of the mean (in percent) of per-query values in 0-1."""
    if not values or resamples <= 0:
        return (float("nan"), float("nan"))
    arr = np.array([values[q] for q in sorted(values)], dtype=np.float64)
    means = arr[resample_indices(len(arr), resamples, seed)].mean(axis=1) * 100.0
    lo, hi = np.percentile(means, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(lo), float(hi)


def paired_difference(a: Mapping[str, float], b: Mapping[str, float], resamples: int, seed: int
                      ) -> dict[str, float]:
    """Mean difference a - b (percent points) over shared queries and its 95% interval (the p-value is the
    permutation test's, in harness.metrics.significance)."""
    qids = sorted(set(a) & set(b))
    diff = np.array([a[q] - b[q] for q in qids], dtype=np.float64)
    means = diff[resample_indices(len(diff), resamples, seed)].mean(axis=1) * 100.0
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"diff": float(diff.mean() * 100.0), "lo": float(lo), "hi": float(hi), "n": len(qids)}
