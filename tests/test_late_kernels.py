"""The centroid engine's vectorised kernels against direct per-token computations: residual decoding through the
byte table, and centroid interaction (packed gather + scatter-max), including empty and one-token documents."""

import numpy as np
import pytest
import torch

from harness.api import MultiVectorEmbeddings
from harness.index.centroid import CentroidIndex
from harness.index.residual import ResidualCodec


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_table_decoding_matches_per_dimension_buckets(bits):
    rng = np.random.default_rng(bits)
    tokens, centroids = torch.from_numpy(_unit(rng, 500, 16)), torch.from_numpy(_unit(rng, 8, 16))
    codes = (tokens @ centroids.T).argmax(1)
    residuals = tokens - centroids[codes]
    codec = ResidualCodec.fit(residuals, bits)
    packed = torch.from_numpy(codec.encode(residuals))
    # the bucket of every value, from the cutoffs directly; decoded = centroid + that bucket's value, normalised
    bucket = np.stack([np.searchsorted(codec.cutoffs[:, j].numpy(), residuals[:, j].numpy(), side="left")
                       for j in range(16)], axis=1)
    want = centroids[codes].numpy() + codec.values.numpy()[bucket, np.arange(16)]
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.allclose(codec.decode(centroids, codes, packed).numpy(), want, atol=1e-6)
    assert codec.decode(centroids, codes[:0], packed[:0]).shape == (0, 16)  # no tokens: an empty block


def test_centroid_interaction_matches_maxsim_on_centroid_replaced_tokens(tmp_path):
    rng = np.random.default_rng(0)
    lengths = np.array([5, 0, 1, 12, 3, 0, 1, 7])  # empty and one-token documents among them
    docs = MultiVectorEmbeddings(_unit(rng, int(lengths.sum()), 16), np.concatenate([[0], np.cumsum(lengths)]))
    index = CentroidIndex({"nlist": 4})
    index.build(docs, [f"d{i}" for i in range(len(lengths))], tmp_path / "c")
    codes = np.load(tmp_path / "c" / "codes.npy").astype(np.int64)
    centroids = np.load(tmp_path / "c" / "centroids.npy")
    q = _unit(rng, 6, 16)
    scores = torch.from_numpy(q) @ index.centroids.T
    cand = torch.tensor([3, 1, 0, 2, 7, 5, 6, 4])
    got = index.interaction_scores(scores, cand).numpy()
    for pos, d in enumerate(cand.tolist()):
        replaced = centroids[codes[docs.offsets[d] : docs.offsets[d + 1]]]
        want = (q @ replaced.T).max(1).sum() if len(replaced) else 0.0
        assert got[pos] == pytest.approx(want, abs=1e-5)
    assert index.interaction_scores(scores, cand[:0]).shape == (0,)


def test_segment_max_on_cpu_is_the_scatter_max_bit_for_bit():
    from harness.index.maxsim import segment_max, segment_max_scatter

    gen = torch.Generator().manual_seed(0)
    for lengths in ([3, 0, 1, 5, 0], [0, 0], [4], [], [0, 2, 0], [1, 1, 1]):
        values = torch.randn(6, sum(lengths), generator=gen)
        got, want = segment_max(values, np.array(lengths)), segment_max_scatter(values, np.array(lengths))
        assert got.shape == (6, len(lengths)) and torch.equal(got, want)
        assert all(torch.isinf(got[:, i]).all() == (n == 0) for i, n in enumerate(lengths))
