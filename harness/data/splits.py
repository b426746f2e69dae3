"""The validation split, carved from train with a fixed seed (OK-VQA has none; selection never sees test).
Questions are grouped by image so that no image is in both train and val."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence

import numpy as np


def carve_validation(qids: Sequence[str], groups: Sequence[Hashable], size: int, seed: int) -> set[str]:
    """About `size` question ids (whole groups), chosen by a seeded permutation of the sorted group keys."""
    by_group: dict[str, list[str]] = {}
    for qid, g in zip(qids, groups):
        by_group.setdefault(str(g), []).append(qid)
    keys = sorted(by_group)
    order = np.random.default_rng(seed).permutation(len(keys))
    val: set[str] = set()
    for i in order:
        if len(val) >= size:
            break
        val.update(by_group[keys[int(i)]])
    return val


def ids_digest(ids: set[str] | Sequence[str]) -> str:
    """sha256 of the sorted ids, one per line: records which questions a split holds."""
    return hashlib.sha256("".join(f"{i}\n" for i in sorted(ids)).encode()).hexdigest()
