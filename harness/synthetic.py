"""Synthetic token embeddings clustered like real late-interaction ones, for engine benchmarks and tests.

Real ColBERT token vectors crowd around a few thousand directions whose frequencies follow a Zipf-like law; a
query shares some tokens with the passages that answer it. So: cluster centres with Zipf popularity, documents
drawn from them with noise, and queries made from one document's tokens (noisier) plus popular tokens.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.api import MultiVectorEmbeddings
from harness.atomic import atomic_path
from harness.pagecache import release


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def cluster_centres(dim: int, n_centres: int = 4096, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = _normalise(rng.standard_normal((n_centres, dim)))
    popularity = 1.0 / np.arange(1, n_centres + 1) ** 1.1
    return centres, popularity / popularity.sum()


def _clustered_slices(total: int, dim: int, seed: int, n_centres: int, noise: float):
    """(start, float32 block) slices of `total` clustered unit tokens; one random stream, whatever the consumer."""
    centres, popularity = cluster_centres(dim, n_centres)
    rng = np.random.default_rng(seed + 1)
    step = 1 << 20
    for start in range(0, total, step):  # slices bound the temporary memory for million-passage corpora
        m = min(step, total - start)
        picks = rng.choice(n_centres, size=m, p=popularity)
        yield start, _normalise(centres[picks] + noise * rng.standard_normal((m, dim)) / np.sqrt(dim))


def clustered_tokens(n_items: int, tokens_per_item: int, dim: int, seed: int, n_centres: int = 4096,
                     noise: float = 0.6) -> MultiVectorEmbeddings:
    """`n_items` documents of `tokens_per_item` unit vectors each (float32, packed); `noise` is the norm of
    the offset from the unit centre (0.6: cosine about 0.86 to the centre, as real token clusters are tight)."""
    total = n_items * tokens_per_item
    out = np.empty((total, dim), dtype=np.float32)
    for start, block in _clustered_slices(total, dim, seed, n_centres, noise):
        out[start : start + len(block)] = block
    return MultiVectorEmbeddings(out, np.arange(0, total + 1, tokens_per_item, dtype=np.int64))


def clustered_token_file(path: Path, n_items: int, tokens_per_item: int, dim: int, seed: int,
                         n_centres: int = 4096, noise: float = 0.6) -> MultiVectorEmbeddings:
    """The tokens of `clustered_tokens` (the same stream, stored as float16) written slice by slice to a .npy
    file and returned memory-mapped: a corpus larger than RAM (1M passages x 64 x 128 is 16 GB)."""
    total = n_items * tokens_per_item
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(total, dim))
        for start, block in _clustered_slices(total, dim, seed, n_centres, noise):
            out[start : start + len(block)] = block
            out.flush()
            release(out[start : start + len(block)])  # written pages leave this process's RSS
        del out
    tokens = np.load(path, mmap_mode="r", allow_pickle=False)
    return MultiVectorEmbeddings(tokens, np.arange(0, total + 1, tokens_per_item, dtype=np.int64))


def queries_with_sources(docs: MultiVectorEmbeddings, n_queries: int, tokens_per_query: int, seed: int,
                         shared: float = 0.5, noise: float = 0.6) -> tuple[MultiVectorEmbeddings, np.ndarray]:
    """Queries that each paraphrase one random document, and that document's index per query: a `shared`
    fraction of their tokens are noisy copies of its tokens, the rest are popular tokens, as a question shares
    some words with its passage. The source document is the one a good engine must find; the rest of an exact
    top-10 is a near-tie among documents that share popular tokens."""
    dim = docs.tokens.shape[1]
    centres, popularity = cluster_centres(dim, 4096)
    rng = np.random.default_rng(seed + 2)
    rows, sources = [], []
    for _ in range(n_queries):
        sources.append(int(rng.integers(len(docs))))
        d = docs.item(sources[-1])
        n_shared = max(1, int(shared * tokens_per_query))
        own = d[rng.integers(0, len(d), n_shared)]
        rest = centres[rng.choice(len(centres), size=tokens_per_query - n_shared, p=popularity)]
        q = np.concatenate([own, rest]) + noise * rng.standard_normal((tokens_per_query, dim)) / np.sqrt(dim)
        rows.append(_normalise(q))
    queries = MultiVectorEmbeddings(np.concatenate(rows),
                                    np.arange(0, n_queries * tokens_per_query + 1, tokens_per_query, dtype=np.int64))
    return queries, np.array(sources, dtype=np.int64)


def queries_for(docs: MultiVectorEmbeddings, n_queries: int, tokens_per_query: int, seed: int,
                shared: float = 0.5, noise: float = 0.6) -> MultiVectorEmbeddings:
    """The queries of `queries_with_sources`, without their sources."""
    return queries_with_sources(docs, n_queries, tokens_per_query, seed, shared, noise)[0]
