"""One OK-VQA question as every source yields it, the text-based vision built from it, and the skip log."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DetectedObject:
    label: str
    attributes: tuple[str, ...] = ()
    attribute_scores: tuple[float, ...] = ()
    box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in pixels


@dataclass
class OkvqaQuestion:
    qid: str
    question: str
    image_id: int | str
    answers: list[str]              # the human answers (ten in OK-VQA), used for VQA score and PR-Success
    origin: str                     # "train" or "test": the source split (OK-VQA val2014 is the test split)
    caption: str | None = None
    objects: list[DetectedObject] = field(default_factory=list)
    ocr: list[str] = field(default_factory=list)
    image: Path | None = None       # a readable image file, where the source has one
    positives: list[str] = field(default_factory=list)  # gold passage ids, where the source has them (GS)


@dataclass
class VisionTextSettings:
    """The official RA-VQA/FLMR text-based vision: caption, then each object as up to `attribute_max`
    attributes scoring above `attribute_thres` followed by its class (at most `object_max` objects), then
    de-duplicated OCR strings. The official special tokens (<BOC> ... <EOV>) become plain separators here,
    as the harness's encoders have no such tokens."""

    object_max: int = 40
    attribute_max: int = 3
    attribute_thres: float = 0.05
    ocr: bool = True


def vision_text(q: OkvqaQuestion, s: VisionTextSettings) -> str:
    parts: list[str] = []
    if q.caption:
        parts.append(q.caption.strip())
    objects = []
    for obj in q.objects[: s.object_max]:
        scores = obj.attribute_scores or tuple(1.0 for _ in obj.attributes)
        attrs = [a for a, sc in zip(obj.attributes, scores) if sc > s.attribute_thres][: s.attribute_max]
        objects.append(" ".join([*attrs, obj.label]))
    if objects:
        parts.append(", ".join(objects))
    if s.ocr and q.ocr:
        seen: list[str] = []
        for text in q.ocr:
            text = text.replace("\n", " ").strip()
            if text and text not in seen:
                seen.append(text)
        if seen:
            parts.append(" ".join(seen))
    return " | ".join(parts)


class SkipLog:
    """What a loader dropped and why: counts per reason and the first few ids, for the dataset's manifest."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, reason: str, item: str) -> None:
        self.counts[reason] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < 5:
            ex.append(str(item))

    def as_dict(self) -> dict[str, Any]:
        return {r: {"count": n, "examples": self.examples[r]} for r, n in sorted(self.counts.items())}
