"""Every committed record was written from a clean tree, by a commit that is in this history."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDS = sorted([*ROOT.glob("results/*/runs/*/*/run.json"), *ROOT.glob("results/*/runs/*/*/vqa_provenance.json"),
                  *ROOT.glob("results/*/vqa_bounds/*/vqa_provenance.json")])


def _is_ancestor(sha: str) -> bool | None:
    try:
        out = subprocess.run(["git", "merge-base", "--is-ancestor", sha, "HEAD"], cwd=ROOT, capture_output=True)
    except OSError:
        return None
    return {0: True, 1: False}.get(out.returncode)


def test_there_are_committed_records():
    assert len(RECORDS) >= 10


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: str(p.relative_to(ROOT / "results")))
def test_record_comes_from_a_clean_commit_in_this_history(path):
    record = json.loads(path.read_text(encoding="utf-8"))
    git = record["provenance"]["git"] if "provenance" in record else record["git"]
    assert git["dirty"] is False, f"{path}: written from a dirty tree"
    ancestor = _is_ancestor(git["sha"])
    if ancestor is None:
        pytest.skip("no git history here")
    assert ancestor, f"{path}: commit {git['sha']} is not in this branch's history"


LOCK = ROOT / "locks" / "cpu.txt"


def test_the_lock_pins_every_package_exactly():
    from harness.provenance import read_lock

    pins = read_lock(LOCK)
    assert {"torch", "transformers", "tokenizers", "numpy", "faiss-cpu", "scipy", "pandas", "dvc"} <= set(pins)
    assert all(v[0].isdigit() for v in pins.values())


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: str(p.relative_to(ROOT / "results")))
def test_record_was_made_in_the_locked_environment(path):
    """A committed number was made with the locked versions, so a fresh install from the lock reproduces it."""
    from harness.provenance import read_lock

    pins = {k.lower(): v for k, v in read_lock(LOCK).items()}
    record = json.loads(path.read_text(encoding="utf-8"))
    libraries = record["provenance"]["libraries"] if "provenance" in record else record["libraries"]
    for name, version in libraries.items():
        if name in ("python", "lock", "flmr-bench"):
            continue
        assert name in pins, f"{path}: {name} is not in locks/cpu.txt"
        assert version.split("+")[0] == pins[name].split("+")[0], (
            f"{path}: made with {name} {version}, the lock pins {pins[name]}: regenerate the table or restore the lock")
    lock = libraries.get("lock")
    if lock is not None:  # records made since the lock exists name it, and were made in it exactly
        assert lock["matches"], f"{path}: the environment differed from the lock: {lock['differs']}"
        assert lock["file"] in ("locks/cpu.txt", "locks/gpu.txt") and len(lock["sha256"]) == 64
