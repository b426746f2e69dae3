"""Significance of paired differences between runs: a paired randomization (permutation) test per comparison
(scipy), and Holm's correction over a table's comparisons (statsmodels). The bootstrap gives the intervals;
these give the p-values, each a test against the null of no difference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import permutation_test
from statsmodels.stats.multitest import multipletests

ALPHA = 0.05
METHOD = ("two-sided paired randomization test over queries (sign flips of per-query differences, scipy "
          "permutation_test), Holm-corrected over the table's comparisons (statsmodels)")


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def paired_permutation_p(a: Mapping[str, float], b: Mapping[str, float], resamples: int, seed: int) -> float:
    """Two-sided p-value of mean(a - b) over the queries both hold, swapping each query's pair at random under
    the null (exact when 2^n <= resamples)."""
    qids = sorted(set(a) & set(b))
    x = np.array([a[q] for q in qids], dtype=np.float64)
    y = np.array([b[q] for q in qids], dtype=np.float64)
    if len(qids) == 0 or np.array_equal(x, y):
        return 1.0
    res = permutation_test((x, y), _mean_difference, permutation_type="samples", vectorized=True,
                           n_resamples=max(1, resamples), alternative="two-sided", batch=1000,
                           rng=np.random.default_rng(seed))
    return float(res.pvalue)


def holm(pvalues: Sequence[float], alpha: float = ALPHA) -> tuple[list[float], list[bool]]:
    """Holm-adjusted p-values and whether each comparison rejects at `alpha`, family-wise."""
    if len(pvalues) == 0:
        return [], []
    reject, adjusted, _, _ = multipletests(list(pvalues), alpha=alpha, method="holm")
    return [float(p) for p in adjusted], [bool(r) for r in reject]
