"""Choose region boxes as the official FLMR code does: objects named in the question first, then larger
before smaller, skipping a box nested inside an already chosen box of the same class."""

from __future__ import annotations

import re

from harness.api import Box


def _inside(inner: Box, outer: Box) -> bool:
    return inner.x0 >= outer.x0 and inner.y0 >= outer.y0 and inner.x1 <= outer.x1 and inner.y1 <= outer.y1


def select_rois(boxes: tuple[Box, ...] | list[Box], question: str, limit: int) -> list[Box]:
    words = set(re.findall(r"[a-z]+", question.lower()))

    def named(b: Box) -> bool:
        return bool(b.label) and all(w in words for w in b.label.lower().split())

    ordered = sorted(boxes, key=lambda b: (not named(b), -b.area))
    chosen: list[Box] = []
    for b in ordered:
        if len(chosen) >= limit:
            break
        if b.area <= 0 or any(c.label == b.label and _inside(b, c) for c in chosen):
            continue
        chosen.append(b)
    return chosen
