"""The engine benchmark's confidence rule (benchmarks/interleaved.py): a PLAID point is dominated with confidence
only where the paired latency ratio's interval lies below 1 and the paired overlap difference's interval above
0, at no more resident memory; the rounds interleave every engine."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from interleaved import confident_dominance, interleaved_rounds, paired_ratio, p50_interval  # noqa: E402

PLAID = {"engine": "plaid", "setting": "nbits 2, k=10 defaults", "resident_B_per_token": 46.0}


def _centroid(setting: str, resident: float = 44.0) -> dict:
    return {"engine": "centroid", "setting": setting, "resident_B_per_token": resident}


def _verdict(ours_rounds, ours_overlap, resident=44.0) -> dict:
    rows = [PLAID, _centroid("c", resident)]
    rounds = {"plaid: nbits 2, k=10 defaults": [10.0, 11.0, 10.5, 10.2, 10.8], "centroid: c": ours_rounds}
    per_query = {"plaid: nbits 2, k=10 defaults": [0.7] * 40, "centroid: c": ours_overlap}
    return confident_dominance(rows, rounds, per_query)[0]


def test_faster_and_more_accurate_beyond_the_intervals_dominates():
    v = _verdict([8.0, 8.7, 8.3, 8.1, 8.6], [0.8] * 20 + [0.75] * 20)
    assert v["dominated_with_confidence"] and v["dominated_by"] == ["c"]
    c = v["comparisons"][0]
    assert c["ratio_hi"] < 1 and c["overlap_diff_lo"] > 0


def test_a_latency_tie_within_the_rounds_spread_does_not_dominate():
    v = _verdict([9.0, 12.0, 9.5, 11.5, 10.0], [0.8] * 40)  # faster on some rounds, slower on others
    assert not v["dominated_with_confidence"] and v["comparisons"][0]["ratio_lo"] < 1 < v["comparisons"][0]["ratio_hi"]


def test_equal_overlap_or_more_memory_does_not_dominate():
    assert not _verdict([8.0, 8.1, 8.2, 8.0, 8.1], [0.7] * 40)["dominated_with_confidence"]
    assert not _verdict([8.0, 8.1, 8.2, 8.0, 8.1], [0.9] * 40, resident=50.0)["dominated_with_confidence"]


def test_rounds_visit_every_engine_for_every_query():
    seen: list[tuple[str, int]] = []
    searches = {name: (lambda i, n=name: seen.append((n, i))) for name in ("a", "b", "c")}
    by_round = interleaved_rounds(searches, n_queries=4, rounds=3)
    assert {k: len(v) for k, v in by_round.items()} == {"a": 3, "b": 3, "c": 3}
    assert len(seen) == 36 and all(seen.count((n, i)) == 3 for n in "abc" for i in range(4))
    first_query = [n for n, i in seen[:3]]
    assert sorted(first_query) == ["a", "b", "c"]  # one query visits every engine before the next


def test_intervals_bracket_the_point():
    p = p50_interval([10.0, 12.0, 11.0, 13.0, 9.0])
    assert p["p50_lo"] <= p["p50_ms"] <= p["p50_hi"]
    r = paired_ratio([5.0, 5.5, 5.2], [10.0, 11.0, 10.4])
    assert r["ratio_lo"] <= r["ratio"] <= r["ratio_hi"] and abs(r["ratio"] - 0.5) < 1e-9
