"""Inverted lists built in document-aligned slices equal the lists of all (centroid, document) pairs at once."""

import numpy as np
import pytest

from harness.index.postings import inverted_lists


@pytest.mark.parametrize("slice_tokens", [1, 7, 100, 1 << 22])
def test_sliced_lists_equal_the_lists_of_all_pairs(slice_tokens):
    rng = np.random.default_rng(slice_tokens)
    lengths = rng.integers(0, 30, size=400)
    lengths[:3] = 0  # empty documents, at the start too
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    codes = rng.integers(0, 50, size=int(offsets[-1])).astype(np.int32)
    docs, list_offsets = inverted_lists(codes, offsets, 64, slice_tokens)  # centroids 50-63 hold nothing
    for c in range(64):
        want = np.unique(np.repeat(np.arange(len(lengths)), lengths)[codes == c])
        assert np.array_equal(docs[list_offsets[c] : list_offsets[c + 1]], want)
    assert docs.dtype == np.int32 and list_offsets[-1] == len(docs)


def test_no_tokens_give_empty_lists():
    docs, list_offsets = inverted_lists(np.zeros(0, np.int32), np.zeros(3, np.int64), 4)
    assert len(docs) == 0 and np.array_equal(list_offsets, np.zeros(5))
