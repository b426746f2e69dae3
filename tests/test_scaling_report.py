"""The corpus-scaling table: skill separated from chance (points above the random level, share of the
ceiling), growth exponents, and which pipelines get it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.params import load_params
from harness.report import scaling
from harness.report.long import CEILING_RUN, RANDOM_RUN
from harness.tasks import is_scaling_study

ROOT = Path(__file__).resolve().parent.parent


def _long() -> pd.DataFrame:
    rows = []
    for task, size, got, rnd, ceiling in (("s1", 1000, 20.0, 2.0, 50.0), ("s2", 10000, 40.0, 10.0, 80.0),
                                          ("full", 100000, 60.0, 30.0, 100.0)):
        base = {"task": task, "split": "test", "corpus_size": size}
        rows += [{**base, "run": "m", "metric": "PR-Success@5", "value": got, "lo": got - 1, "hi": got + 1},
                 {**base, "run": "m", "metric": "PR-Success@20", "value": got + 5, "lo": got + 4, "hi": got + 6},
                 {**base, "run": "m", "metric": "index bytes", "value": 7.0 * size ** 1.5, "lo": None, "hi": None},
                 {**base, "run": RANDOM_RUN, "metric": "PR-Success@5", "value": rnd, "lo": None, "hi": None},
                 {**base, "run": RANDOM_RUN, "metric": "PR-Success@20", "value": 2 * rnd, "lo": None, "hi": None},
                 {**base, "run": CEILING_RUN, "metric": "PR-Success@any", "value": ceiling, "lo": None, "hi": None}]
    return pd.DataFrame(rows)


def test_each_size_stands_beside_its_random_level_and_ceiling():
    frame = scaling.scaling_frame(_long())
    assert list(frame["passages"]) == [1000, 10000, 100000] and set(frame["run"]) == {"m"}
    assert list(frame["@5 above random"]) == pytest.approx([18.0, 30.0, 30.0])
    assert list(frame["@5 share of ceiling"]) == pytest.approx([40.0, 50.0, 60.0])
    assert list(frame["random@20"]) == pytest.approx([4.0, 20.0, 60.0])
    text = scaling.scaling_markdown(frame)
    assert "+18.0" in text and "m 1.50" in text  # index bytes ~ passages^1.5


def test_growth_exponent_recovers_a_power_law():
    sizes = np.array([1e3, 3e3, 1e4, 1e5])
    assert scaling.growth_exponent(sizes, 0.2 * sizes ** 0.5) == pytest.approx(0.5)
    assert np.isnan(scaling.growth_exponent(sizes[:1], sizes[:1]))


def test_only_pipelines_with_three_or_more_corpora_get_the_table():
    assert is_scaling_study(load_params(ROOT / "pipelines/corpus_scaling/params.yaml"))
    assert is_scaling_study(load_params(ROOT / "pipelines/check/params.yaml"))
    assert not is_scaling_study(load_params(ROOT / "pipelines/okvqa_mini/params.yaml"))
    assert not is_scaling_study(load_params(ROOT / "params.yaml"))
