"""Shared fixtures: a small toy world generated once per session, and the shared-data path setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.data.toy_world import ToyConfig, generate_toy_world

ROOT = Path(__file__).resolve().parent.parent
SMALL_WORLD = ToyConfig(seed=5, n_kinds=12, distractors_per_kind=5, n_train=48, n_val=16, n_test=24, image_size=64)


@pytest.fixture(scope="session")
def toy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("toy") / "toy"
    generate_toy_world(out, SMALL_WORLD)
    return out


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Real OK-VQA material, from FLMR_BENCH_SHARED_DATA (default ../shared/data); skipped where absent."""
    path = Path(os.environ.get("FLMR_BENCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"shared OK-VQA data not found at {path} (set FLMR_BENCH_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def scratch_records_may_come_from_a_dirty_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests write records into scratch folders, never into committed results, so they run on a tree with
    uncommitted changes too (tests/test_dirty_tree.py checks the refusal itself with the variable unset)."""
    from harness.provenance import ALLOW_DIRTY_ENV

    monkeypatch.setenv(ALLOW_DIRTY_ENV, "1")
