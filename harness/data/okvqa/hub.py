"""OK-VQA from BByrneLab/OKVQA_FLMR_preprocessed_data (the FLMR authors' preprocessing: VinVL objects with
attributes, captions, Google OCR, and `pos_item_ids` into the Google Search corpus), from the hub at a pinned
revision or from a local folder of its parquet files. Images come from a COCO folder, matched by file name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.data.okvqa.files import check_image, keep_answers
from harness.data.okvqa.record import DetectedObject, OkvqaQuestion, SkipLog
from harness.data.schema import absolute
from harness.data.sources import load_hf_split
from harness.errors import InputError

REQUIRED = ("question_id", "question", "answers")


def _objects(path: str, qid: str, value: Any) -> list[DetectedObject]:
    out = []
    for obj in value or []:
        if not isinstance(obj, dict) or "class" not in obj:
            raise InputError(path, "objects", f"each object needs a 'class' (question_id {qid})")
        rect = obj.get("rect")
        out.append(DetectedObject(label=str(obj["class"]), attributes=tuple(obj.get("attributes") or ()),
                                  attribute_scores=tuple(float(x) for x in obj.get("attribute_scores") or ()),
                                  box=tuple(float(x) for x in rect) if rect and len(rect) == 4 else None))
    return out


def _caption(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("caption")
    return str(value).strip() if value else None


def _ocr(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(x.get("description", "")) if isinstance(x, dict) else str(x) for x in value or []]


def rows_to_questions(rows: list[dict[str, Any]], origin: str, where: str, image_dir: Path | None,
                      require_images: bool, skips: SkipLog) -> list[OkvqaQuestion]:
    out: list[OkvqaQuestion] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        for name in REQUIRED:
            if row.get(name) is None:
                raise InputError(where, name, f"missing in row {i}")
        qid = str(row["question_id"])
        if qid in seen:
            raise InputError(where, "question_id", f"duplicate id {qid} in row {i}")
        seen.add(qid)
        question = str(row["question"]).strip()
        if not question:
            raise InputError(where, "question", f"empty in row {i} (question_id {qid})")
        answers = keep_answers([str(a) for a in row["answers"]])
        if not answers:
            skips.add(f"{origin}: no_answers", qid)
            continue
        image = None
        name = row.get("img_path") or row.get("img_key") or row.get("img_id")
        if image_dir is not None and name:
            file = image_dir / Path(str(name)).name
            if file.suffix == "":
                file = file.with_suffix(".jpg")
            image, drop = check_image(file, origin, qid, require_images, skips)
            if drop:
                continue
        out.append(OkvqaQuestion(qid=qid, question=question, image_id=str(row.get("img_id") or name or ""),
                                 answers=answers, origin=origin, caption=_caption(row.get("img_caption")),
                                 objects=_objects(where, qid, row.get("objects")), ocr=_ocr(row.get("img_ocr")),
                                 image=image, positives=[str(p) for p in row.get("pos_item_ids") or []]))
    return out


def load_hub_source(s: dict[str, Any], root: Path, skips: SkipLog) -> tuple[list[OkvqaQuestion], dict[str, str]]:
    """`s`: {repo, revision, local (folder of <split>-*.parquet, optional), splits: {train: .., test: ..},
    images: {train: folder, test: folder}, require_images}."""
    splits = s.get("splits", {"train": "train", "test": "test"})
    images = s.get("images", {})
    out, used = [], {}
    for origin in ("train", "test"):
        if origin not in splits:
            continue
        rows, where = load_hf_split(s, splits[origin], root, "dataset.okvqa")
        used[f"{origin}:{splits[origin]}"] = where
        image_dir = absolute(root / images[origin]) if origin in images else None
        out += rows_to_questions(rows, origin, where, image_dir, bool(s.get("require_images", False)), skips)
    return out, used
