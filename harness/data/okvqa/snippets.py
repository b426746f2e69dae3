"""Google Search snippets for OK-VQA test questions (S3VQA's google_snippets files; datasets/okvqa_gs_mini/card.yaml)
as a corpus: the union of the files, each distinct (name, context) pair once, the name as title and the context
as text. The paper's Google Search corpus is the same kind of corpus at scale (168k passages)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from harness.api import Passage
from harness.data.okvqa.files import _read_json
from harness.errors import InputError

FILES = ("google_okvqa-s3_with_okvqa-s3.json", "google_okvqa-s3_with_s3.json")


@dataclass
class Snippets:
    passages: list[Passage]
    urls: dict[str, str]                  # passage id -> the first url it was found at
    question_ids: set[str]                # the questions the files hold results for
    empty: int = 0                        # results with no text, left out
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256


def passage_id(name: str, context: str) -> str:
    """Stable across file order: a digest of what the passage says."""
    return "gs" + hashlib.sha1(f"{name}\n{context}".encode()).hexdigest()[:16]


def load_snippets(folder: Path, files: tuple[str, ...] = FILES) -> Snippets:
    out = Snippets(passages=[], urls={}, question_ids=set())
    for name in files:
        path = Path(folder) / name
        data = _read_json(path)
        if not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict)):
            raise InputError(path, "-", "expected a JSON list holding one object {question_id: [results]}")
        out.files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        for qid, results in data[0].items():
            if not isinstance(results, list):
                raise InputError(path, str(qid), "expected a list of {url, name, context} results")
            out.question_ids.add(str(qid))
            for i, r in enumerate(results):
                for key in ("name", "context"):
                    if not isinstance(r, dict) or not isinstance(r.get(key), str):
                        raise InputError(path, f"{qid}[{i}].{key}", "missing or not a string")
                title, text = r["name"].strip(), r["context"].strip()
                if not text:
                    out.empty += 1
                    continue
                pid = passage_id(title, text)
                if pid not in out.urls:
                    out.urls[pid] = str(r.get("url", ""))
                    out.passages.append(Passage(pid=pid, title=title, text=text))
    return out
