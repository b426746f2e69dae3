"""The residual codec (harness/index/residual.py) and the centroid engine's re-rank on decoded tokens."""

import numpy as np
import pytest
import torch

from harness.api import MultiVectorEmbeddings
from harness.errors import InputError
from harness.index.centroid import CentroidIndex
from harness.index.late import ExactMaxSimIndex
from harness.index.residual import ResidualCodec


def _unit(rng, n, dim):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_codes_are_the_per_dimension_quantile_buckets_bit_packed(bits):
    rng = np.random.default_rng(bits)
    x = torch.from_numpy(rng.standard_normal((500, 16)).astype(np.float32))
    codec = ResidualCodec.fit(x, bits)
    packed = codec.encode(x)
    assert packed.dtype == np.uint8 and packed.shape == (500, 16 * bits // 8)
    expected = np.stack([np.searchsorted(codec.cutoffs[:, j].numpy(), x[:, j].numpy(), side="left")
                         for j in range(16)], axis=1)  # bucket = how many cutoffs lie below the value
    assert np.array_equal(codec.buckets(torch.from_numpy(packed)).numpy(), expected)
    counts = np.bincount(expected.ravel(), minlength=1 << bits)
    assert counts.min() > 0.5 * counts.mean()  # quantile buckets are about equally full


def test_decoding_error_falls_with_more_bits():
    rng = np.random.default_rng(0)
    tokens = torch.from_numpy(_unit(rng, 2000, 32))
    centroids = torch.from_numpy(_unit(rng, 16, 32))
    codes = (tokens @ centroids.T).argmax(1)
    residuals = tokens - centroids[codes]
    cosines = []
    for bits in (1, 2, 4, 8):
        codec = ResidualCodec.fit(residuals, bits)
        decoded = codec.decode(centroids, codes, torch.from_numpy(codec.encode(residuals)))
        assert torch.allclose(decoded.norm(dim=1), torch.ones(len(decoded)), atol=1e-5)
        cosines.append(float((decoded * tokens).sum(1).mean()))
    assert cosines == sorted(cosines) and cosines[-1] > 0.999 and cosines[0] < 0.99


def test_odd_widths_and_bits_are_refused():
    with pytest.raises(ValueError, match="one of"):
        ResidualCodec.fit(torch.zeros(10, 8), 3)
    codec = ResidualCodec.fit(torch.randn(10, 6), 4)
    with pytest.raises(ValueError, match="multiple of 2"):
        codec.encode(torch.randn(3, 7))


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((64, 32))
    def packed(n, lo, hi):
        lengths = rng.integers(lo, hi + 1, size=n)
        tok = centers[rng.integers(0, 64, size=lengths.sum())] + 0.3 * rng.standard_normal((lengths.sum(), 32))
        tok /= np.linalg.norm(tok, axis=1, keepdims=True)
        return MultiVectorEmbeddings(tok.astype(np.float32), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
    return packed(300, 5, 30), packed(20, 4, 12), [f"p{i}" for i in range(300)], [f"q{i}" for i in range(20)]


def _overlap(ref, got, qids, k=10):
    return float(np.mean([len(set(ref[q]) & set(got[q])) / k for q in qids]))


def test_residual_rerank_agrees_with_exact_and_holds_only_codes(world, tmp_path):
    docs, queries, pids, qids = world
    ExactMaxSimIndex({}).build(docs, pids, tmp_path / "e")
    ref = ExactMaxSimIndex.load(tmp_path / "e").search(queries, qids, 10)
    stats = CentroidIndex({"nlist": 32, "nprobe": 4, "candidates": 60, "residual_bits": 4}).build(docs, pids, tmp_path / "r")
    assert stats.extra["bytes_per_token_ram"] < 16 + 32 * 4 / 8  # postings, codes and 16 B of residual per token
    got_4 = _overlap(ref, CentroidIndex.load(tmp_path / "r").search(queries, qids, 10), qids)
    same_candidates_exact = _overlap(ref, CentroidIndex.load(tmp_path / "r", residual_bits=0).search(queries, qids, 10), qids)
    assert got_4 >= same_candidates_exact - 0.05  # 4-bit codes lose a little to the float16 store, not more
    # probing everything with 8-bit residuals: the decoded scores are the exact ones up to quantization
    every = CentroidIndex.load(tmp_path / "r", nprobe=32, candidates=300)
    every_8 = CentroidIndex({"nlist": 32, "nprobe": 32, "candidates": 300, "residual_bits": 8})
    every_8.build(docs, pids, tmp_path / "r8")
    got = CentroidIndex.load(tmp_path / "r8").search(queries, qids, 10)
    assert _overlap(ref, got, qids) >= 0.95
    for q in qids:
        for p in set(ref[q]) & set(got[q]):
            assert abs(ref[q][p] - got[q][p]) < 0.05 * len(queries.item(int(q[1:])))
    assert _overlap(ref, every.search(queries, qids, 10), qids) >= 0.9


def test_residual_rerank_handles_empty_and_one_token_documents(tmp_path):
    tok = np.eye(4, dtype=np.float32)
    docs = MultiVectorEmbeddings(tok, np.array([0, 1, 1, 4]))  # one token, none, three
    CentroidIndex({"nlist": 2, "residual_bits": 2}).build(docs, ["a", "b", "c"], tmp_path / "c")
    run = CentroidIndex.load(tmp_path / "c", nprobe=2).search(MultiVectorEmbeddings(tok[:1], np.array([0, 1])), ["q"], 3)
    assert next(iter(run["q"])) == "a" and "b" not in run["q"]
    run = CentroidIndex.load(tmp_path / "c", nprobe=2).search(MultiVectorEmbeddings(tok[3:], np.array([0, 1])), ["q"], 3)
    assert next(iter(run["q"])) == "c" and "b" not in run["q"]


def test_residual_setting_on_an_index_built_without_is_one_clear_error(world, tmp_path):
    docs, _, pids, _ = world
    CentroidIndex({"nlist": 8}).build(docs, pids, tmp_path / "c")
    with pytest.raises(InputError, match="residuals.npy.*residual_bits"):
        CentroidIndex.load(tmp_path / "c", residual_bits=2)


def test_coarse_assignment_finds_the_nearest_centroid_for_almost_every_token():
    from harness.index.centroid import CoarseAssigner, assign, spherical_kmeans
    from harness.synthetic import clustered_tokens

    x = torch.from_numpy(clustered_tokens(100, 40, 32, seed=3).tokens)  # clustered, as token vectors are
    centroids = spherical_kmeans(x, 256, 8, seed=0)  # as the index trains them
    exact = assign(x, centroids)
    assert (CoarseAssigner(centroids, probe=4)(x, chunk=1000) == exact).float().mean() > 0.9
    every = CoarseAssigner(centroids, probe=10**6)  # probing every group is exhaustive
    assert torch.equal(every(x), exact)


def test_a_coarse_built_index_agrees_with_exact(world, tmp_path):
    docs, queries, pids, qids = world
    ExactMaxSimIndex({}).build(docs, pids, tmp_path / "e")
    ref = ExactMaxSimIndex.load(tmp_path / "e").search(queries, qids, 10)
    CentroidIndex({"nlist": 64, "coarse_above": 16, "coarse_probe": 3, "nprobe": 6,
                   "candidates": 60}).build(docs, pids, tmp_path / "c")
    assert _overlap(ref, CentroidIndex.load(tmp_path / "c").search(queries, qids, 10), qids) >= 0.9


def test_lloyd_refinement_lowers_the_decoding_error_and_values_are_bucket_means():
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.standard_normal((4000, 8)).astype(np.float32) * np.linspace(0.5, 2, 8, dtype=np.float32))
    errors = []
    for iters in (0, 1, 6):
        codec = ResidualCodec.fit(x, 2, lloyd_iters=iters)
        b = codec.buckets(torch.from_numpy(codec.encode(x)))
        decoded = codec.values[b, torch.arange(8)]
        errors.append(float(((decoded - x) ** 2).mean()))
        if iters:  # each value is the mean of the residuals its bucket holds
            for j in range(8):
                for v in range(4):
                    assert codec.values[v, j] == pytest.approx(float(x[b[:, j] == v, j].mean()), abs=1e-5)
    assert errors[2] < errors[1] < errors[0]
