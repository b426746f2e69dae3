"""The paired permutation test and Holm's correction behind the tables' significance markers."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from harness.metrics.significance import holm, paired_permutation_p
from harness.report.tables import MARK, mark_significance


def _runs(a: list[float], b: list[float]) -> tuple[dict[str, float], dict[str, float]]:
    return {f"q{i}": v for i, v in enumerate(a)}, {f"q{i}": v for i, v in enumerate(b)}


def test_identical_runs_have_p_one():
    a, b = _runs([1, 0, 1, 1], [1, 0, 1, 1])
    assert paired_permutation_p(a, b, 1000, seed=0) == 1.0


def test_small_samples_are_tested_exactly_by_sign_flips():
    x = [1, 1, 1, 0, 1, 1, 0, 1, 1, 0]
    y = [0, 0, 1, 0, 0, 1, 1, 0, 0, 0]
    d = np.array(x, float) - np.array(y, float)
    observed = abs(d.mean())
    flips = [abs((d * np.array(s)).mean()) for s in itertools.product([1, -1], repeat=len(d))]
    exact = np.mean([f >= observed - 1e-12 for f in flips])  # every sign pattern, enumerated here
    assert paired_permutation_p(*_runs(x, y), resamples=10_000, seed=0) == pytest.approx(exact)


def test_a_clear_difference_is_significant_and_noise_is_not():
    rng = np.random.default_rng(3)
    base = rng.random(400) < 0.4
    better = base | (rng.random(400) < 0.3)
    noise = np.where(rng.random(400) < 0.05, ~base, base)
    assert paired_permutation_p(*_runs(list(better.astype(float)), list(base.astype(float))), 2000, 0) < 0.001
    assert paired_permutation_p(*_runs(list(noise.astype(float)), list(base.astype(float))), 2000, 0) > 0.05


def test_holm_matches_the_step_down_procedure():
    adjusted, reject = holm([0.01, 0.04, 0.03, 0.2])
    # sorted 0.01, 0.03, 0.04, 0.2 times 4, 3, 2, 1, made monotone: 0.04, 0.09, 0.09, 0.2
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert reject == [True, False, False, False]
    assert holm([]) == ([], [])


def test_markers_follow_the_holm_decision_and_name_the_reference():
    shown = pd.DataFrame({"run": ["ref", "a", "b"], "PR-Success@5": ["50.0", "60.0", "51.0"]})
    paired = pd.DataFrame({"run": ["a", "b"], "reference": ["ref", "ref"], "metric": ["PR-Success@5"] * 2,
                           "significant": [True, False]})
    marked = mark_significance(shown, paired)["PR-Success@5"].tolist()
    assert marked == ["50.0 (ref)", f"60.0 {MARK}", "51.0"]


def test_each_tested_metric_is_marked_by_its_own_decision():
    shown = pd.DataFrame({"run": ["ref", "a", "oracle passage"], "PR-Success@5": ["50.0", "60.0", "-"],
                          "VQA": ["10.0", "11.0", "20.0"]})
    paired = pd.DataFrame({"run": ["a", "a"], "reference": ["ref", "ref"], "metric": ["PR-Success@5", "VQA"],
                           "significant": [True, False]})
    marked = mark_significance(shown, paired)
    assert marked["PR-Success@5"].tolist() == ["50.0 (ref)", f"60.0 {MARK}", "-"]
    assert marked["VQA"].tolist() == ["10.0 (ref)", "11.0", "20.0"]
