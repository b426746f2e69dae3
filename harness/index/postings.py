"""Inverted lists of a centroid index: for every centroid, the documents holding a token assigned to it, each
document once and in ascending order (int32 ids), with list offsets. Built in document-aligned slices of the
token codes, so memory beyond the result stays one slice's worth (a million-passage corpus has 64M tokens:
one int64 key per token would be 512 MB, and sorting them all at once several times that)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

SLICE_TOKENS = 1 << 22  # tokens per slice


def _slices(offsets: np.ndarray, slice_tokens: int) -> Iterator[tuple[int, int]]:
    """Document ranges [lo, hi) of about `slice_tokens` tokens each (at least one document)."""
    lo, n = 0, len(offsets) - 1
    while lo < n:
        hi = int(np.searchsorted(offsets, offsets[lo] + slice_tokens, side="right")) - 1
        hi = min(n, max(hi, lo + 1))
        yield lo, hi
        lo = hi


def _slice_pairs(codes: np.ndarray, offsets: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (centroid, document) pairs of documents lo..hi-1, sorted by centroid, then document."""
    span = hi - lo
    local_doc = np.repeat(np.arange(span, dtype=np.int64), np.diff(offsets[lo : hi + 1]))
    keys = np.sort(codes[offsets[lo] : offsets[hi]].astype(np.int64) * span + local_doc)
    if len(keys):  # sort, then drop repeats (np.unique's hashing is many times slower here)
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return keys // span, keys % span + lo


def inverted_lists(codes: np.ndarray, offsets: np.ndarray, nlist: int, slice_tokens: int = SLICE_TOKENS
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(list_docs int32 [postings], list_offsets int64 [nlist + 1]) from every token's centroid id `codes` and
    the documents' token `offsets`. Two passes over the slices: count each slice's postings per centroid, then
    place them; slices follow document order, so every list comes out ascending."""
    offsets = np.asarray(offsets, dtype=np.int64)
    bounds = list(_slices(offsets, slice_tokens))
    counts = np.zeros((len(bounds), nlist), dtype=np.int64)
    for k, (lo, hi) in enumerate(bounds):
        centroid, _ = _slice_pairs(codes, offsets, lo, hi)
        counts[k] = np.bincount(centroid, minlength=nlist)
    list_offsets = np.concatenate([[0], np.cumsum(counts.sum(0))]).astype(np.int64)
    # where slice k's postings of centroid c start: the list's start plus earlier slices' postings of c
    starts = list_offsets[:-1] + np.cumsum(counts, axis=0) - counts
    list_docs = np.empty(int(list_offsets[-1]), dtype=np.int32)
    for k, (lo, hi) in enumerate(bounds):
        centroid, doc = _slice_pairs(codes, offsets, lo, hi)
        first = np.cumsum(counts[k]) - counts[k]  # each centroid's first position among this slice's pairs
        list_docs[starts[k][centroid] + np.arange(len(centroid)) - first[centroid]] = doc
    return list_docs, list_offsets
