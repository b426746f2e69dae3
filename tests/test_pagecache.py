"""Page residency of a memory-mapped store: touching pages makes them resident, dropping evicts them."""

import sys

import numpy as np
import pytest

from harness.pagecache import PAGE, advise_random, drop_pages, read_bytes, resident_bytes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore / fadvise: Linux only")


def test_touched_pages_are_resident_and_dropping_evicts_them(tmp_path):
    path = tmp_path / "store.npy"
    np.save(path, np.arange(256 * PAGE // 8, dtype=np.float64))  # 256 pages
    arr = np.load(path, mmap_mode="r")
    advise_random(arr)
    drop_pages(arr, path)
    assert resident_bytes(arr) <= 2 * PAGE  # the header's page may stay
    before = read_bytes()
    total = float(arr[: 10 * PAGE // 8].sum())  # touch the first 10 pages
    assert total > 0
    resident = resident_bytes(arr)
    assert 10 * PAGE <= resident <= 40 * PAGE, resident  # random advice: no read-ahead of the whole file
    assert read_bytes() >= before
    drop_pages(arr, path)
    assert resident_bytes(arr) <= 2 * PAGE
    with pytest.raises(TypeError):
        advise_random(np.zeros(4))
