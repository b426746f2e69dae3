from pathlib import Path

import numpy as np
import pytest
import torch

from harness.api import MultiVectorEmbeddings
from harness.index.centroid import CentroidIndex
from harness.index.late import ExactMaxSimIndex, TokenStore, exact_maxsim_search
from harness.index.twostage import FaissTwoStageIndex
from harness.index.maxsim import maxsim


def _packed(rng, n, lo, hi, dim, centers):
    lengths = rng.integers(lo, hi + 1, size=n)
    tok = centers[rng.integers(0, len(centers), size=lengths.sum())] + 0.3 * rng.standard_normal((lengths.sum(), dim))
    tok /= np.linalg.norm(tok, axis=1, keepdims=True)
    return MultiVectorEmbeddings(tok.astype(np.float32), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((64, 32))
    docs = _packed(rng, 300, 5, 30, 32, centers)
    queries = _packed(rng, 20, 4, 12, 32, centers)
    return docs, queries, [f"p{i}" for i in range(300)], [f"q{i}" for i in range(20)]


def _brute(q, d):
    scores = np.zeros((len(q), len(d)))
    for i in range(len(q)):
        for j in range(len(d)):
            scores[i, j] = (q.item(i) @ d.item(j).T).max(axis=1).sum()
    return scores


def test_maxsim_ignores_padding():
    q = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    d = torch.tensor([[[1.0, 0.0], [9.0, 9.0]]])
    assert maxsim(q, d, torch.tensor([[True, False]])).item() == pytest.approx(1.0)


def test_exact_index_matches_brute_force_with_small_chunks(world, tmp_path):
    docs, queries, pids, qids = world
    ref = _brute(queries, docs)
    store = TokenStore.write(docs, pids, tmp_path / "s")
    vals, idx = exact_maxsim_search(queries, store, 10, query_batch=3, doc_chunk=17)  # chunk edges everywhere
    for i in range(len(qids)):
        expected = np.argsort(-ref[i], kind="stable")[:10]
        assert set(idx[i]) == set(expected)
        assert np.allclose(vals[i], ref[i][idx[i]], atol=2e-2)  # tokens are stored as float16


def test_exact_index_round_trip(world, tmp_path):
    docs, queries, pids, qids = world
    ExactMaxSimIndex({}).build(docs, pids, tmp_path / "i")
    run = ExactMaxSimIndex.load(tmp_path / "i").search(queries, qids, 5)
    assert len(run) == 20 and all(len(v) == 5 for v in run.values())


def test_twostage_agrees_with_exact(world, tmp_path):
    docs, queries, pids, qids = world
    ExactMaxSimIndex({}).build(docs, pids, tmp_path / "e")
    ref = ExactMaxSimIndex.load(tmp_path / "e").search(queries, qids, 10)
    stats = FaissTwoStageIndex({"pq_m": 8, "nprobe": 48, "token_k": 96, "candidates": 100}).build(docs, pids, tmp_path / "t")
    got = FaissTwoStageIndex.load(tmp_path / "t").search(queries, qids, 10)
    overlap = np.mean([len(set(ref[q]) & set(got[q])) / 10 for q in qids])
    assert overlap >= 0.9
    assert stats.extra["bytes_per_token_ram"] < 32 * 4  # the ANN part is compressed


def test_centroid_engine_agrees_with_exact(world, tmp_path):
    docs, queries, pids, qids = world
    ExactMaxSimIndex({}).build(docs, pids, tmp_path / "e")
    ref = ExactMaxSimIndex.load(tmp_path / "e").search(queries, qids, 10)
    stats = CentroidIndex({"nlist": 32, "nprobe": 4, "candidates": 60}).build(docs, pids, tmp_path / "c")
    got = CentroidIndex.load(tmp_path / "c").search(queries, qids, 10)
    overlap = np.mean([len(set(ref[q]) & set(got[q])) / 10 for q in qids])
    assert overlap >= 0.9
    for q in qids:  # re-ranked scores are exact MaxSim scores
        common = set(ref[q]) & set(got[q])
        assert all(abs(ref[q][p] - got[q][p]) < 1e-4 for p in common)
    assert stats.extra["bytes_per_token_ram"] < 16  # postings and centroids only; float16 tokens stay on disk
    every = CentroidIndex.load(tmp_path / "c", nprobe=32, candidates=300).search(queries, qids, 10)
    assert all(set(every[q]) == set(ref[q]) for q in qids)  # probing everything re-ranks everything: exact


def test_centroid_engine_handles_empty_documents(tmp_path):
    tok = np.eye(4, dtype=np.float32)
    docs = MultiVectorEmbeddings(tok, np.array([0, 2, 2, 4]))  # the middle document has no tokens
    CentroidIndex({"nlist": 2}).build(docs, ["a", "b", "c"], tmp_path / "c")
    run = CentroidIndex.load(tmp_path / "c", nprobe=2).search(MultiVectorEmbeddings(tok[:1], np.array([0, 1])), ["q"], 3)
    assert next(iter(run["q"])) == "a" and "b" not in run["q"]


def test_plaid_backend_when_installed(world, tmp_path):
    """PLAID through colbert-ai, fed our embeddings; skipped where the optional extra is absent."""
    pytest.importorskip("colbert", reason="optional extra: pip install 'flmr-bench[plaid]'")
    from harness.index.plaid import PlaidIndex

    docs, queries, pids, qids = world
    ExactMaxSimIndex({}).build(docs, pids, tmp_path / "e")
    ref = ExactMaxSimIndex.load(tmp_path / "e").search(queries, qids, 10)
    stats = PlaidIndex({"nbits": 4}).build(docs, pids, tmp_path / "p")
    got = PlaidIndex.load(tmp_path / "p").search(queries, qids, 10)
    assert all(len(got[q]) == 10 and set(got[q]) <= set(pids) for q in qids)
    overlap = np.mean([len(set(ref[q]) & set(got[q])) / 10 for q in qids])
    assert overlap >= 0.5  # compressed residuals: close to, not equal to, exact MaxSim
    assert stats.extra["bytes_per_token_ram"] < 32 * 4
    assert stats.extra["bytes_per_token_ram"] > 32 * 4 / 8  # the held tensors: 4-bit residuals and more

def test_plaid_without_the_extra_is_one_clear_error(monkeypatch):
    import harness.index.plaid as plaid
    from harness.errors import InputError

    monkeypatch.setattr(plaid, "available", lambda: False)
    with pytest.raises(InputError, match="optional extra colbert-ai"):
        plaid.PlaidIndex({}).build(None, [], Path("x"))
