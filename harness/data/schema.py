"""Read, write and validate the on-disk dataset format.

    <dataset>/queries.jsonl   {"qid", "question", "image", "answers", "split", "vision_text", "rois"}
    <dataset>/corpus.jsonl    BEIR fields {"_id", "title", "text"}
    <dataset>/qrels/<split>.tsv  BEIR qrels: query-id, corpus-id, score (with a header line)

A prepared dataset whose corpus is a named one (wiki_vital, okvqa_gs, ...) holds no corpus.jsonl: its
manifest names the corpus, prepared once beside it in corpora/<name>/ for every dataset that reads it.

Every reader fails with one `InputError` naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.api import Box, Passage, Query
from harness.atomic import atomic_path, write_jsonl
from harness.errors import InputError

SPLITS = ("train", "val", "test")
SPLIT_ALIASES = {"dev": "val"}  # BEIR's name for the validation split
CORPORA_DIR = "corpora"  # data/corpora/<name>/: a named corpus, beside the dataset folders that read it


def named_corpus_dir(dataset_root: str | Path, name: str) -> Path:
    """Where a dataset folder finds the named corpus it reads: corpora/<name>/ beside it."""
    return Path(dataset_root).parent / CORPORA_DIR / name


def corpus_name(root: str | Path) -> str:
    """The name of the corpus a dataset folder reads: the one its manifest names, else the folder's (a generated
    world's corpus is named after it)."""
    root = Path(root)
    manifest = root / "manifest.json"
    if manifest.is_file():
        name = (json.loads(manifest.read_text(encoding="utf-8")).get("corpus") or {}).get("name")
        if name:
            return str(name)
    return root.name


def corpus_file(root: str | Path) -> Path:
    """A dataset folder's corpus: its own corpus.jsonl, else the named corpus its manifest points to."""
    root = Path(root)
    own = root / "corpus.jsonl"
    return own if own.is_file() or not (root / "manifest.json").is_file() else \
        named_corpus_dir(root, corpus_name(root)) / "corpus.jsonl"


def absolute(path: str | Path) -> Path:
    """`path` made absolute by its letters, links not followed: an image or source folder configured beside the
    project (`../shared/...`) then gets the same relative path in every dataset written, wherever the clone sits and
    whatever a link on the way points at, so prepared data (a DVC output) hashes the same on every machine."""
    return Path(os.path.abspath(path))


def canonical_split(name: str) -> str:
    """`dev` (BEIR's name) is `val` here; every other name is itself."""
    return SPLIT_ALIASES.get(name, name)


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    if not path.is_file():
        raise InputError(path, "-", "file not found")
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(path, "-", f"not valid JSON ({exc.msg})", line=n) from None
                if not isinstance(row, dict):
                    raise InputError(path, "-", "each line must be a JSON object", line=n)
                yield n, row
    except UnicodeDecodeError as exc:
        raise InputError(path, "-", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _str_field(path: Path, n: int, row: dict, name: str, *, required: bool = True, allow_empty: bool = False) -> str | None:
    value = row.get(name)
    if value is None:
        if required:
            raise InputError(path, name, "missing", line=n)
        return None
    if not isinstance(value, str):
        raise InputError(path, name, f"must be a string, got {type(value).__name__}", line=n)
    if not allow_empty and not value.strip():
        raise InputError(path, name, "is empty", line=n)
    return value


def _rois(path: Path, n: int, value: object) -> tuple[Box, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(path, "rois", "must be a list of boxes", line=n)
    boxes = []
    for b in value:
        try:
            boxes.append(Box(float(b["x0"]), float(b["y0"]), float(b["x1"]), float(b["y1"]),
                             str(b.get("label", "")), float(b.get("score", 1.0))))
        except (KeyError, TypeError, ValueError):
            raise InputError(path, "rois", "each box needs numeric x0, y0, x1, y1", line=n) from None
    return tuple(boxes)


def read_queries(path: str | Path, *, check_images: bool = True) -> list[Query]:
    """Queries with image paths resolved against the file's folder; images must exist if `check_images`."""
    path = Path(path)
    root = path.parent
    seen: set[str] = set()
    out: list[Query] = []
    for n, row in _iter_jsonl(path):
        qid = row.get("qid")
        if isinstance(qid, int):
            qid = str(qid)
        if not isinstance(qid, str) or not qid.strip():
            raise InputError(path, "qid", "missing or empty", line=n)
        if qid in seen:
            raise InputError(path, "qid", f"duplicate id {qid!r}", line=n)
        seen.add(qid)
        question = _str_field(path, n, row, "question")
        answers = row.get("answers", [])
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise InputError(path, "answers", "must be a list of strings", line=n)
        split = canonical_split(row.get("split", "test"))
        if split not in SPLITS:
            raise InputError(path, "split", f"must be one of {SPLITS}, got {split!r}", line=n)
        image = None
        image_field = _str_field(path, n, row, "image", required=False)
        if image_field is not None:
            image = absolute(root / image_field)
            if check_images and not image.is_file():
                raise InputError(path, "image", f"file not found: {image}", line=n)
        vision_text = _str_field(path, n, row, "vision_text", required=False, allow_empty=True)
        out.append(Query(qid=qid, text=question, image=image, answers=tuple(answers), split=split,
                         vision_text=vision_text, rois=_rois(path, n, row.get("rois"))))
    return out


def query_to_row(q: Query, root: Path) -> dict:
    row: dict = {"qid": q.qid, "question": q.text, "answers": list(q.answers), "split": q.split}
    if q.image is not None:
        image = Path(q.image)
        # relative to the dataset folder, also for images kept outside it (a COCO folder elsewhere)
        row["image"] = os.path.relpath(absolute(image), root) if image.is_absolute() else str(image)
    if q.vision_text is not None:
        row["vision_text"] = q.vision_text
    if q.rois:
        row["rois"] = [{"x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1, "label": b.label, "score": b.score}
                       for b in q.rois]
    return row


def write_queries(path: str | Path, queries: Iterable[Query]) -> None:
    path = Path(path)
    write_jsonl(path, [query_to_row(q, absolute(path.parent)) for q in queries])


def read_corpus(path: str | Path) -> list[Passage]:
    path = Path(path)
    seen: set[str] = set()
    out: list[Passage] = []
    for n, row in _iter_jsonl(path):
        pid = row.get("_id")
        if isinstance(pid, int):
            pid = str(pid)
        if not isinstance(pid, str) or not pid.strip():
            raise InputError(path, "_id", "missing or empty", line=n)
        if pid in seen:
            raise InputError(path, "_id", f"duplicate id {pid!r}", line=n)
        seen.add(pid)
        text = _str_field(path, n, row, "text")
        title = _str_field(path, n, row, "title", required=False, allow_empty=True) or ""
        out.append(Passage(pid=pid, title=title, text=text))
    return out


def write_corpus(path: str | Path, passages: Iterable[Passage]) -> None:
    write_jsonl(path, [{"_id": p.pid, "title": p.title, "text": p.text} for p in passages])


def iter_tsv(path: str | Path, header: str, columns: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a tab-separated file with an optional header line starting with `header`;
    a wrong column count or non-UTF-8 text is one `InputError` naming the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "-", "file not found")
    csv.field_size_limit(2**31 - 1)  # DPR passages exceed the csv module's default field limit
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for n, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
                if n == 1 and row[:1] == [header]:
                    continue
                if len(row) != columns:
                    raise InputError(path, "-", f"expected {columns} tab-separated columns, got {len(row)}", line=n)
                yield n, row
    except UnicodeDecodeError as exc:
        raise InputError(path, "-", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (header `query-id corpus-id score`) -> {qid: {pid: relevance}}."""
    qrels: dict[str, dict[str, int]] = {}
    for n, row in iter_tsv(path, "query-id", 3):
        try:
            rel = int(row[2])
        except ValueError:
            raise InputError(path, "score", f"not an integer: {row[2]!r}", line=n) from None
        qrels.setdefault(row[0], {})[row[1]] = rel
    return qrels


def write_qrels(path: str | Path, qrels: dict[str, dict[str, int]]) -> None:
    lines = ["query-id\tcorpus-id\tscore\n"]
    for qid in qrels:
        for pid, rel in qrels[qid].items():
            lines.append(f"{qid}\t{pid}\t{rel}\n")
    with atomic_path(path) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")


class Dataset:
    """A dataset folder: its queries by split, its corpus, and its qrels (where it has them)."""

    def __init__(self, root: str | Path, *, check_images: bool = True):
        self.root = Path(root)
        self.queries = read_queries(self.root / "queries.jsonl", check_images=check_images)
        self.corpus = read_corpus(corpus_file(self.root))
        self.qrels: dict[str, dict[str, dict[str, int]]] = {}
        for split in SPLITS:
            names = [split, *(alias for alias, canon in SPLIT_ALIASES.items() if canon == split)]
            f = next((self.root / "qrels" / f"{n}.tsv" for n in names if (self.root / "qrels" / f"{n}.tsv").is_file()),
                     None)  # qrels/dev.tsv serves as the validation qrels where there is no val.tsv
            if f is not None:
                self.qrels[split] = read_qrels(f)

    def split(self, name: str) -> list[Query]:
        return [q for q in self.queries if q.split == name]

    def passages_by_id(self) -> dict[str, Passage]:
        return {p.pid: p for p in self.corpus}
