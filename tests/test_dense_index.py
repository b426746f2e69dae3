import numpy as np
import pytest

from harness.api import DenseEmbeddings
from harness.errors import InputError
from harness.index import exact_search
from harness.index.dense import FaissDenseIndex


def _data(n=800, d=32, nq=40, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal((n, d)).astype(np.float32)
    q = (p[:nq] + 0.1 * rng.standard_normal((nq, d))).astype(np.float32)  # each query near one passage
    return DenseEmbeddings(q), DenseEmbeddings(p), [f"q{i}" for i in range(nq)], [f"p{i}" for i in range(n)]


def test_flat_matches_exact_search(tmp_path):
    q, p, qids, pids = _data()
    index = FaissDenseIndex({"type": "flat"})
    stats = index.build(p, pids, tmp_path / "i")
    assert stats.vectors == 800 and stats.bytes_on_disk >= 800 * 32 * 4
    got = FaissDenseIndex.load(tmp_path / "i").search(q, qids, 10)
    ref = exact_search(q, qids, p, pids, 10)
    for qid in qids:
        assert list(got[qid]) == list(ref[qid])
        assert np.allclose(list(got[qid].values()), list(ref[qid].values()), rtol=1e-4)


@pytest.mark.parametrize("settings", [{"type": "hnsw", "hnsw_m": 16}, {"type": "ivfpq", "ivf_nlist": 8, "pq_m": 8, "nprobe": 8}])
def test_approximate_indexes_find_the_near_duplicate(tmp_path, settings):
    q, p, qids, pids = _data()
    index = FaissDenseIndex(settings)
    stats = index.build(p, pids, tmp_path / "i")
    run = FaissDenseIndex.load(tmp_path / "i").search(q, qids, 10)
    hits = sum(f"p{i}" in run[qid] for i, qid in enumerate(qids))
    assert hits / len(qids) >= 0.9
    if settings["type"] == "ivfpq":
        assert stats.bytes_per_vector < 32 * 4  # compressed


def test_bad_index_settings():
    with pytest.raises(InputError, match="index.dense.type"):
        FaissDenseIndex({"type": "annoy"})
