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


def _rss_file_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("RssFile:")) * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status is Linux")
def test_released_slices_leave_the_process_rss(tmp_path):
    from harness.pagecache import release

    path = tmp_path / "big.npy"
    np.save(path, np.ones((1 << 19, 64), dtype=np.float16))  # 64 MiB
    step = 1 << 15
    for drop in (False, True):
        arr = np.load(path, mmap_mode="r")
        before = _rss_file_bytes()
        for s in range(0, len(arr), step):
            float(arr[s : s + step].sum(dtype=np.float32))  # touch every page
            if drop:
                release(arr[s : s + step])
        grown = _rss_file_bytes() - before
        del arr
        if drop:
            assert grown < 8 << 20  # at most a slice's pages stay mapped
        else:
            assert grown > 48 << 20  # without release the whole file is in the RSS


def test_clustered_token_file_is_the_clustered_stream_in_float16(tmp_path):
    from harness.synthetic import clustered_token_file, clustered_tokens

    mem = clustered_tokens(50, 8, 16, seed=4)
    disk = clustered_token_file(tmp_path / "t.npy", 50, 8, 16, seed=4)
    assert disk.tokens.dtype == np.float16 and np.array_equal(disk.offsets, mem.offsets)
    assert np.array_equal(np.asarray(disk.tokens), mem.tokens.astype(np.float16))


def test_take_rows_copies_the_rows_and_leaves_their_pages_unmapped(tmp_path):
    from harness.pagecache import take_rows

    data = (np.arange(1 << 19) % 2048).astype(np.float16)[:, None].repeat(64, 1)  # 64 MiB
    np.save(tmp_path / "a.npy", data)
    rows = np.sort(np.random.default_rng(0).choice(len(data), 20000, replace=False))  # ~every page
    grown = {}
    for chunk in (len(rows), 256):
        mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
        before = _rss_file_bytes()
        got = take_rows(mapped, rows, chunk=chunk) if chunk == 256 else np.asarray(mapped[rows])
        grown[chunk] = _rss_file_bytes() - before
        assert np.array_equal(got, data[rows])
        del mapped
    assert grown[len(rows)] > 32 << 20 and grown[256] < 8 << 20  # a plain gather keeps the pages mapped
    assert np.array_equal(take_rows(data, rows[:0]), data[:0])
