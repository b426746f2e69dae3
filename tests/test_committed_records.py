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
