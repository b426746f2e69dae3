"""OK-VQA from files: the official question files, answers from the official annotation files or from
LXMERT-style {answer: score} labels, and optional text-based vision (caption TSV, detection JSON) and a COCO
image folder. The official release and a local folder shaped like ../shared/data both come through here.

Structural problems (a missing file or field, bad JSON, non-UTF-8 text, an empty question, a duplicate id) are
one `InputError` naming the file and the field. Content gaps are counted skips in the `SkipLog`: a question
without labels, with no non-empty answer, or (with `require_images`) without a readable image.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from harness.data.okvqa.record import DetectedObject, OkvqaQuestion, SkipLog
from harness.data.schema import absolute
from harness.errors import InputError
from harness.metrics.vqa import UNLABELLED, answers_from_scores

ORIGINS = ("train", "test")


@dataclass
class FilesSource:
    """Paths relative to `root`, per origin split ("train" = OK-VQA train2014, "test" = OK-VQA val2014)."""

    root: Path
    questions: dict[str, str]
    labels: dict[str, str]
    labels_format: str = "lxmert"                  # lxmert ({answer: score}) | official (mscoco_*_annotations.json)
    captions: dict[str, str] = field(default_factory=dict)     # TSV: image_id <TAB> [{"caption", "conf"}]
    detections: dict[str, dict[str, str]] = field(default_factory=dict)  # {file, key: question|image}
    images: dict[str, str] = field(default_factory=dict)       # folder of COCO_<split>2014_<12-digit id>.jpg
    image_names: dict[str, str] = field(default_factory=lambda: {"train": "COCO_train2014_{:012d}.jpg",
                                                                 "test": "COCO_val2014_{:012d}.jpg"})
    require_images: bool = False
    verify_images: bool = True

    @classmethod
    def from_settings(cls, root: Path, s: dict[str, Any]) -> "FilesSource":
        known = set(cls.__dataclass_fields__) - {"root"}
        unknown = set(s) - known
        if unknown:
            raise InputError("params.yaml", f"dataset.okvqa.{sorted(unknown)[0]}", f"unknown setting; known: {sorted(known)}")
        for name in ("questions", "labels"):
            if not isinstance(s.get(name), dict) or not s[name]:
                raise InputError("params.yaml", f"dataset.okvqa.{name}", "missing: a mapping {train: file, test: file}")
        for origin, spec in (s.get("detections") or {}).items():
            if not isinstance(spec, dict) or "file" not in spec or spec.get("key", "question") not in ("question", "image"):
                raise InputError("params.yaml", f"dataset.okvqa.detections.{origin}",
                                 "must be {file: path, key: question|image}")
        return cls(root=root, **{k: v for k, v in s.items() if k in known})


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise InputError(path, "-", "file not found")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(path, "-", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, "-", f"not valid JSON ({exc.msg})", line=exc.lineno) from None


def _field(path: Path, row: Any, name: str, where: str) -> Any:
    if not isinstance(row, dict) or name not in row:
        raise InputError(path, name, f"missing in {where}")
    return row[name]


def read_questions(path: Path) -> list[dict[str, Any]]:
    data = _read_json(path)
    rows = _field(path, data, "questions", "the top-level object")
    if not isinstance(rows, list):
        raise InputError(path, "questions", "must be a list")
    seen: set[str] = set()
    out = []
    for i, row in enumerate(rows):
        where = f"questions[{i}]"
        qid = str(_field(path, row, "question_id", where))
        question = _field(path, row, "question", where)
        image_id = _field(path, row, "image_id", where)
        if not isinstance(question, str) or not question.strip():
            raise InputError(path, "question", f"empty in {where} (question_id {qid})")
        if qid in seen:
            raise InputError(path, "question_id", f"duplicate id {qid} in {where}")
        seen.add(qid)
        out.append({"qid": qid, "question": question.strip(), "image_id": int(image_id)})
    return out


def read_labels(path: Path, fmt: str) -> dict[str, list[str]]:
    """question id -> human answers (ten for OK-VQA; LXMERT labels are expanded by vote count)."""
    data = _read_json(path)
    out: dict[str, list[str]] = {}
    if fmt == "official":
        rows = _field(path, data, "annotations", "the top-level object")
        for i, row in enumerate(rows):
            where = f"annotations[{i}]"
            answers = _field(path, row, "answers", where)
            if not isinstance(answers, list):
                raise InputError(path, "answers", f"must be a list in {where}")
            out[str(_field(path, row, "question_id", where))] = [
                str(_field(path, a, "answer", f"{where}.answers")) for a in answers]
        return out
    if fmt != "lxmert":
        raise InputError("params.yaml", "dataset.okvqa.labels_format", f"must be lxmert or official, got {fmt!r}")
    if not isinstance(data, list):
        raise InputError(path, "-", "LXMERT labels must be a list of rows")
    for i, row in enumerate(data):
        where = f"row {i}"
        label = _field(path, row, "label", where)
        if not isinstance(label, dict):
            raise InputError(path, "label", f"must be an {{answer: score}} object in {where}")
        try:
            scores = {str(a): float(s) for a, s in label.items() if str(a).strip()}
        except (TypeError, ValueError):
            raise InputError(path, "label", f"scores must be numbers in {where}") from None
        out[str(_field(path, row, "question_id", where))] = answers_from_scores(scores) if scores else []
    return out


def read_captions(path: Path) -> dict[int, str]:
    """PICa/VinVL caption TSV: `image_id<TAB>[{"caption": str, "conf": float}]`; the first caption is kept."""
    if not path.is_file():
        raise InputError(path, "-", "file not found")
    out: dict[int, str] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for n, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
                if len(row) != 2:
                    raise InputError(path, "-", f"expected image_id<TAB>json, got {len(row)} columns", line=n)
                try:
                    caps = json.loads(row[1])
                    out[int(row[0])] = str(caps[0]["caption"]).strip()
                except (ValueError, KeyError, IndexError, TypeError):
                    raise InputError(path, "caption", "expected a JSON list of {caption, conf}", line=n) from None
    except UnicodeDecodeError as exc:
        raise InputError(path, "-", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return out


def read_detections(path: Path) -> dict[str, list[DetectedObject]]:
    """{id: {"detections": [label, ...]}} (question- or image-keyed) -> objects without attributes."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise InputError(path, "-", "must be an object keyed by question or image id")
    out = {}
    for key, row in data.items():
        labels = _field(path, row, "detections", f"entry {key}")
        if not isinstance(labels, list):
            raise InputError(path, "detections", f"must be a list in entry {key}")
        out[str(key)] = [DetectedObject(label=str(x)) for x in labels if str(x).strip()]
    return out


def keep_answers(answers: list[str]) -> list[str]:
    """The human answers with empty ones kept as never-matching placeholders (the VQA score's denominator stays
    the number of humans); [] when no answer has text, which callers count as a skip."""
    if not any(a.strip() and not a.startswith(UNLABELLED[0]) for a in answers):
        return []
    return [a if a.strip() else UNLABELLED for a in answers]


def readable_image(path: Path) -> str | None:
    """None if the image decodes, else why not (missing / corrupt)."""
    if not path.is_file():
        return "image_missing"
    try:
        with Image.open(path) as im:
            im.load()
    except (UnidentifiedImageError, OSError, SyntaxError):
        return "image_corrupt"
    return None


def check_image(candidate: Path, origin: str, qid: str, require: bool, skips: SkipLog, verify: bool = True
                ) -> tuple[Path | None, bool]:
    """(the image if readable, whether to drop the question). A corrupt image is always counted; without
    `require`, the question is kept without it, and an image absent from a partial folder is no skip (the
    manifest counts questions with images)."""
    problem = readable_image(candidate) if verify else (None if candidate.is_file() else "image_missing")
    if problem is None:
        return candidate, False
    if require:
        skips.add(f"{origin}: {problem}", qid)
        return None, True
    if problem == "image_corrupt":
        skips.add(f"{origin}: image_corrupt (question kept without its image)", qid)
    return None, False


def load_files_source(src: FilesSource, skips: SkipLog) -> tuple[list[OkvqaQuestion], dict[str, str]]:
    """All questions of both origins, and the input files read (relative path -> path) for provenance."""
    used: dict[str, str] = {}

    def path(rel: str) -> Path:
        p = absolute(src.root / rel)
        used[rel] = str(p)
        return p

    out: list[OkvqaQuestion] = []
    for origin in ORIGINS:
        if origin not in src.questions:
            continue
        questions = read_questions(path(src.questions[origin]))
        if origin not in src.labels:
            raise InputError("params.yaml", f"dataset.okvqa.labels.{origin}", "missing: answers are needed")
        labels = read_labels(path(src.labels[origin]), src.labels_format)
        captions = read_captions(path(src.captions[origin])) if origin in src.captions else {}
        det_spec = src.detections.get(origin)
        detections = read_detections(path(det_spec["file"])) if det_spec else {}
        det_key = (det_spec or {}).get("key", "question")
        image_dir = path(src.images[origin]) if origin in src.images else None
        for q in questions:
            if q["qid"] not in labels:
                skips.add(f"{origin}: no_labels", q["qid"])
                continue
            answers = keep_answers(labels[q["qid"]])
            if not answers:
                skips.add(f"{origin}: no_answers", q["qid"])
                continue
            image = None
            if image_dir is not None:
                image, drop = check_image(image_dir / src.image_names[origin].format(q["image_id"]), origin,
                                          q["qid"], src.require_images, skips, src.verify_images)
                if drop:
                    continue
            elif src.require_images:
                raise InputError("params.yaml", f"dataset.okvqa.images.{origin}",
                                 "missing: require_images needs an image folder")
            key = q["qid"] if det_key == "question" else str(q["image_id"])
            out.append(OkvqaQuestion(qid=q["qid"], question=q["question"], image_id=q["image_id"], answers=answers,
                                     origin=origin, caption=captions.get(q["image_id"]),
                                     objects=detections.get(key, []), image=image))
    return out, used
